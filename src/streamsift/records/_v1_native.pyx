# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The ingest hot path, compiled: an X API v1.1 status payload → the raw table's row, in one call.

:func:`streamsift.records.v1_fast.normalize_v1_fast` (msgspec structs → :class:`Tweet`) and
:func:`streamsift.ingest.sink.rows_from_messages` (Tweet → row tuple) in one pass, without the
intermediate objects. It handles the common case and declines (returns ``None``) everything else,
which then goes the Python way — the same rule as the fast path, one step further:

* the payload must be UTF-8, carry no ``\\u0000`` and no lone surrogate escape (checked here by one
  scan of its backslashes, so an emoji's surrogate pair no longer sends a real tweet the slow way);
* msgspec must accept it against :mod:`.v1_fast`'s schema;
* its text must be non-empty and within ``MAX_TEXT_CHARS`` (else the Python path says why not).

Odd ids (``" 12"``, ``"١٢"``), dates not in the API's form and non-ASCII URLs call the Python helpers,
so results are the reference's to the field (``tests/unit/test_records_native.py`` compares them).
Built by ``setup.py`` when a C compiler is there; without it, ingest runs the Python path alone.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.datetime cimport datetime_new, import_datetime
from cpython.unicode cimport PyUnicode_GET_LENGTH
from libc.string cimport memchr

from datetime import UTC

import msgspec

from streamsift.records import MAX_TEXT_CHARS
from streamsift.records import _opt_int as _py_opt_int
from streamsift.records import domain_of as _py_domain_of
from streamsift.records import parse_created_at as _py_parse_created_at
from streamsift.records.v1_fast import _DECODER

import_datetime()

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    const char* PyUnicode_1BYTE_DATA(object)

cdef object _UNSET = msgspec.UNSET
cdef object _UTC = UTC
cdef object _DecodeError = msgspec.DecodeError
cdef object _decode = _DECODER.decode
cdef Py_ssize_t _MAX_TEXT = MAX_TEXT_CHARS
cdef long long _ID_MAX = 9223372036854775807  # 2**63 - 1


# -- the payload's bytes ------------------------------------------------------------------------
cdef inline int _hex(unsigned char c) noexcept:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


cdef int _escape_at(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """The code unit of the ``\\uXXXX`` escape at ``p[i]``, or -1 if there is none."""
    cdef int v = 0, h, k
    if i + 6 > n or p[i] != 92 or p[i + 1] != 117:
        return -1
    for k in range(2, 6):
        h = _hex(p[i + k])
        if h < 0:
            return -1
        v = v * 16 + h
    return v


cpdef bint escapes_ok(bytes payload):
    """True if the JSON text has no ``\\u0000`` and no surrogate escape without its partner (both
    make the raw JSON unusable as ``jsonb``). Backslashes only occur inside strings in valid JSON,
    and escapes read left to right, so jumping from backslash to backslash reads them right."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(payload), i = 0
    cdef const unsigned char* q
    cdef int v, w
    while i < n:
        q = <const unsigned char*>memchr(p + i, 92, n - i)
        if q == NULL:
            return True
        i = q - p
        if i + 1 >= n:
            return False
        if p[i + 1] != 117:  # \" \\ \/ \n ...
            i += 2
            continue
        v = _escape_at(p, i, n)
        if v <= 0:  # \u0000, or not an escape the decoder would take
            return False
        if 0xD800 <= v <= 0xDBFF:
            w = _escape_at(p, i + 6, n)
            if w < 0xDC00 or w > 0xDFFF:
                return False
            i += 12
        elif 0xDC00 <= v <= 0xDFFF:
            return False
        else:
            i += 6
    return True


# -- fields ---------------------------------------------------------------------------------------
cdef object _id_from_str(str s):
    """:func:`streamsift.records._opt_int` of a string: ASCII digits here, anything else in Python."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s), i
    cdef const char* c
    cdef unsigned long long v = 0  # 19 digits fit; 2**63 - 1 is the largest id
    if n == 0:
        return None
    if not PyUnicode_IS_ASCII(s) or n > 19:
        return _py_opt_int(s)
    c = PyUnicode_1BYTE_DATA(s)
    for i in range(n):
        if c[i] < 48 or c[i] > 57:
            return _py_opt_int(s)
        v = v * 10 + <unsigned long long>(c[i] - 48)
    return v if 0 < v <= <unsigned long long>_ID_MAX else None


cdef object _opt_id(object s, object i):
    """``_opt_int(s or i)`` for a struct's ``id_str`` / ``id`` pair (str | None, int | None)."""
    if s is not None and PyUnicode_GET_LENGTH(s) > 0:
        return _id_from_str(s)
    if i is None:
        return None
    return i if 0 < i <= _ID_MAX else None


cdef object _opt_count(object v):
    if v is None:
        return None
    return v if 0 <= v <= _ID_MAX else None


cdef object _str_or_none(object v):
    if v is None or PyUnicode_GET_LENGTH(v) == 0:
        return None
    return v


cdef inline bint _digit(char c) noexcept:
    return 48 <= c <= 57


cdef inline int _num(const char* c, int at, int width) noexcept:
    cdef int v = 0, k
    for k in range(width):
        if not _digit(c[at + k]):
            return -1
        v = v * 10 + (c[at + k] - 48)
    return v


cdef int _month(const char* c) noexcept:
    cdef bytes m = c[:3]
    if m == b"Jan": return 1
    if m == b"Feb": return 2
    if m == b"Mar": return 3
    if m == b"Apr": return 4
    if m == b"May": return 5
    if m == b"Jun": return 6
    if m == b"Jul": return 7
    if m == b"Aug": return 8
    if m == b"Sep": return 9
    if m == b"Oct": return 10
    if m == b"Nov": return 11
    if m == b"Dec": return 12
    return 0


cdef object _created_at(object v):
    """``Sun Apr 05 10:46:44 +0000 2020`` read here; any other form by the Python function."""
    cdef const char* c
    cdef int year, month, day, hh, mm, ss
    if v is None or PyUnicode_GET_LENGTH(v) != 30 or not PyUnicode_IS_ASCII(v):
        return _py_parse_created_at(v)
    c = PyUnicode_1BYTE_DATA(v)
    if (
        c[0] < 65 or c[3] != 32 or c[7] != 32 or c[10] != 32 or c[13] != 58 or c[16] != 58
        or c[19] != 32 or c[20:25] != b"+0000" or c[25] != 32
    ):
        return _py_parse_created_at(v)
    month = _month(c + 4)
    day, hh, mm, ss, year = _num(c, 8, 2), _num(c, 11, 2), _num(c, 14, 2), _num(c, 17, 2), _num(c, 26, 4)
    if (
        month == 0 or day < 1 or day > 28 or hh < 0 or hh > 23 or mm < 0 or mm > 59
        or ss < 0 or ss > 59 or year < 1
    ):
        return _py_parse_created_at(v)  # days 29-31 too: the Python function knows month lengths
    return datetime_new(year, month, day, hh, mm, ss, 0, _UTC)


cdef inline bint _space(char ch) noexcept:
    return ch == 32 or 9 <= ch <= 13 or 28 <= ch <= 31  # str.strip()'s ASCII whitespace


cdef inline bint _scheme_char(char ch) noexcept:
    return (65 <= ch <= 90) or (97 <= ch <= 122) or _digit(ch) or ch == 43 or ch == 46 or ch == 45


cdef str _domain(str url):
    """:func:`streamsift.records.domain_of` for an ASCII URL (others: the Python function)."""
    cdef Py_ssize_t n, s, e, j, cut, at
    cdef const char* c
    if not PyUnicode_IS_ASCII(url):
        return _py_domain_of(url)
    n = PyUnicode_GET_LENGTH(url)
    c = PyUnicode_1BYTE_DATA(url)
    s, e = 0, n
    while s < e and _space(c[s]):
        s += 1
    while e > s and _space(c[e - 1]):
        e -= 1
    if s < e and ((65 <= c[s] <= 90) or (97 <= c[s] <= 122)):
        j = s + 1
        while j < e and _scheme_char(c[j]):
            j += 1
        if j + 2 < e and c[j] == 58 and c[j + 1] == 47 and c[j + 2] == 47:
            s = j + 3
    elif e - s >= 2 and c[s] == 47 and c[s + 1] == 47:
        s += 2
    cut = s
    while cut < e and c[cut] != 47 and c[cut] != 63 and c[cut] != 35:  # / ? #
        cut += 1
    e = cut
    at = e
    while at > s and c[at - 1] != 64:  # the host follows the last @
        at -= 1
    s = at
    if s < e and c[s] == 91:  # [IPv6]: up to the first ], which is kept (added if absent)
        j = s
        while j < e and c[j] != 93:
            j += 1
        return _lower_host(c + s, j - s, True)
    j = s
    while j < e and c[j] != 58:  # the port goes
        j += 1
    return _lower_host(c + s, j - s, False)


cdef str _lower_host(const char* c, Py_ssize_t n, bint bracket):
    """``c[:n]`` (``+ "]"``), lower-case, trailing dots and a leading ``www.`` removed."""
    cdef bytearray out = bytearray(n + 1)
    cdef char* o = out
    cdef Py_ssize_t k, start = 0
    for k in range(n):
        o[k] = c[k] + 32 if 65 <= c[k] <= 90 else c[k]
    if bracket:
        o[n] = 93
        n += 1
    while n > 0 and o[n - 1] == 46:
        n -= 1
    if n >= 4 and o[0] == 119 and o[1] == 119 and o[2] == 119 and o[3] == 46:  # www.
        start = 4
    return o[start:n].decode("ascii")


cdef void _urls(object entities, list out):
    """``(short, expanded, domain)`` of each link, as :func:`v1_fast._urls` gives them."""
    cdef object short, expanded, unwound
    if entities is None:
        return
    links = entities.urls
    if not links:
        return
    for u in links:
        short = u.url if u.url is not None else ""
        expanded = u.expanded_url if u.expanded_url is not None else ""
        if not expanded:
            expanded = short
        unwound = u.unwound_url if u.unwound_url is not None else ""
        if expanded:
            out.append((short, expanded, _domain(expanded)))
        if unwound:
            out.append((short, unwound, _domain(unwound)))


cdef tuple _full_text(object status):
    """(text, links, entities) as :func:`v1_fast._full_text`."""
    cdef list links = []
    ext = status.extended_tweet
    if ext is not None and ext.full_text is not None and ext.full_text.strip():
        _urls(ext.entities, links)
        _urls(status.entities, links)
        return ext.full_text, links, ext.entities
    text = status.full_text if status.full_text is not None else status.text
    _urls(status.entities, links)
    return (text if text is not None else ""), links, status.entities


cdef tuple _dedup(list items):
    seen = set()
    out = []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return tuple(out)


cdef object _unescape(str text):
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- the row ------------------------------------------------------------------------------------
def v1_row(bytes payload, object topic, object partition, object offset, object timestamp):
    """``(row, links)`` for the raw table — ``row`` in :data:`streamsift.store.schema.RAW_COLUMNS`
    order with ``raw`` the payload itself, ``links`` the ``(short, expanded, domain)`` of each kept
    link — or ``None``: not for this path (see the module)."""
    cdef list links, rt_links, hashtags, mentions
    cdef list seen_links
    if not payload.isascii():
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not escapes_ok(payload):
        return None
    try:
        d = _decode(payload)
    except _DecodeError:  # msgspec.ValidationError included
        return None
    if (
        not d.id_str
        or d.data is not _UNSET
        or d.kind is not _UNSET
        or d.content is not _UNSET
        or d.errors is not _UNSET
        or (d.text is None and d.full_text is None and d.extended_tweet is None)
    ):
        return None
    tweet_id = _id_from_str(d.id_str)
    if tweet_id is None:
        return None  # the Python path names what is wrong with it
    text, links, entities = _full_text(d)
    all_entities = [entities, d.entities]
    rt = d.retweeted_status
    qt = d.quoted_status
    if rt is not None:
        rt_text, rt_links, rt_entities = _full_text(rt)
        rt_user = _str_or_none(rt.user.screen_name) if rt.user is not None else None
        if rt_text:
            text = f"RT @{rt_user}: {rt_text}" if rt_user else rt_text
        links += rt_links
        all_entities.append(rt_entities)
        if rt.quoted_status is not None:
            if qt is None:
                qt = rt.quoted_status
            else:
                links += (<tuple>_full_text(rt.quoted_status))[1]
    quoted_text = None
    if qt is not None:
        quoted_text, qt_links, _ = _full_text(qt)
        links += qt_links
    text = _unescape(text)
    if not text.strip() or PyUnicode_GET_LENGTH(text) > _MAX_TEXT:
        return None
    hashtags = []
    mentions = []
    for ent in all_entities:
        if ent is None:
            continue
        for h in ent.hashtags or ():
            v = h.text or h.tag
            if v:
                hashtags.append(v)
        for m in ent.user_mentions or ():
            if m.screen_name:
                mentions.append(m.screen_name)
    seen = set()
    seen_links = []
    for link in links:  # the first of each expanded URL
        if link[1] not in seen:
            seen.add(link[1])
            seen_links.append(link)
    user = d.user
    in_reply_to_id = _opt_id(d.in_reply_to_status_id_str, d.in_reply_to_status_id)
    quoted_id = _opt_id(d.quoted_status_id_str, d.quoted_status_id)
    if quoted_id is None and qt is not None:
        quoted_id = _opt_id(qt.id_str, qt.id)
    row = (
        tweet_id,
        _created_at(d.created_at),
        text,
        _str_or_none(d.lang),
        _opt_id(user.id_str, user.id) if user is not None else None,
        _str_or_none(user.screen_name) if user is not None else None,
        _str_or_none(user.name) if user is not None else None,
        _opt_count(user.followers_count) if user is not None else None,
        user.verified if user is not None else None,
        rt is not None,
        d.is_quote_status is True or qt is not None,
        in_reply_to_id is not None,
        _opt_id(rt.id_str, rt.id) if rt is not None else None,
        quoted_id,
        in_reply_to_id,
        _unescape(quoted_text) if quoted_text else None,
        _dedup(hashtags),
        _dedup(mentions),
        [link[1] for link in seen_links],
        "v1.1",
        payload,
        topic,
        partition,
        offset,
        timestamp,
        "x",
        None,
        None,
    )
    return row, seen_links
