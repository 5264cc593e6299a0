# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Binary COPY data for a batch of rows, in one call: the sink's rows without psycopg's per-value
dumpers (four Python calls per raw row: three ``text[]`` and the JSON).

:func:`copy_data` takes the rows and one type code per column and returns the whole COPY stream —
signature, rows, trailer — for ``COPY … FROM STDIN (FORMAT BINARY)`` and ``Copy.write``. Each value
is sent in its PostgreSQL type's binary form, byte for byte what psycopg sends
(``tests/unit/ingest/test_copy_native.py`` compares them). A value of a type not foreseen here (a
naive or non-UTC datetime, a float, …) raises ``TypeError``: the caller then lets psycopg format the
batch. Built by ``setup.py`` when a C compiler is there.

Type codes: ``q`` int8, ``i`` int4, ``b`` bool, ``t`` text, ``T`` text[] (a list or tuple of str),
``j`` json and ``J`` jsonb (the JSON text as UTF-8 bytes), ``z`` timestamptz.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_CheckExact,
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_DATE_GET_TZINFO,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    import_datetime,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy

from datetime import UTC

import_datetime()

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL
    long long PyLong_AsLongLong(object) except? -1

cdef object _UTC = UTC
cdef bytes _SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
cdef int32_t _TEXT_OID = 25
cdef int64_t _PG_EPOCH_DAYS = 10957  # 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01


cdef struct Buf:
    char* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int _reserve(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef char* p
    if b.size + extra <= b.cap:
        return 0
    cap = b.cap * 2
    if cap < b.size + extra:
        cap = b.size + extra
    p = <char*>PyMem_Realloc(b.data, cap)
    if p == NULL:
        raise MemoryError()
    b.data = p
    b.cap = cap
    return 0


cdef inline void _u32(char* p, uint32_t v) noexcept:
    p[0] = <char>(v >> 24)
    p[1] = <char>(v >> 16)
    p[2] = <char>(v >> 8)
    p[3] = <char>v


cdef int _i16(Buf* b, int16_t v) except -1:
    cdef unsigned short u = <unsigned short>v
    _reserve(b, 2)
    b.data[b.size] = <char>(u >> 8)
    b.data[b.size + 1] = <char>(u & 0xFF)
    b.size += 2
    return 0


cdef int _i32(Buf* b, int32_t v) except -1:
    _reserve(b, 4)
    _u32(b.data + b.size, <uint32_t>v)
    b.size += 4
    return 0


cdef int _i64(Buf* b, int64_t v) except -1:
    cdef uint64_t u = <uint64_t>v
    _reserve(b, 8)
    _u32(b.data + b.size, <uint32_t>(u >> 32))
    _u32(b.data + b.size + 4, <uint32_t>u)
    b.size += 8
    return 0


cdef int _bytes(Buf* b, const char* p, Py_ssize_t n) except -1:
    _reserve(b, n)
    memcpy(b.data + b.size, p, n)
    b.size += n
    return 0


cdef int _field(Buf* b, const char* p, Py_ssize_t n) except -1:
    if n > 0x7FFFFFFF:
        raise ValueError("a value over 2 GB cannot be sent")
    _i32(b, <int32_t>n)
    _bytes(b, p, n)
    return 0


cdef int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    cdef int64_t era, yoe, doy, doe
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef int _timestamptz(Buf* b, object v) except -1:
    cdef int64_t days, us
    if not PyDateTime_CheckExact(v) or <object>PyDateTime_DATE_GET_TZINFO(v) is not _UTC:
        raise TypeError(f"timestamptz: only UTC datetimes here, not {v!r}")
    days = _days_from_civil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v))
    us = (
        ((days - _PG_EPOCH_DAYS) * 86400
         + PyDateTime_DATE_GET_HOUR(v) * 3600
         + PyDateTime_DATE_GET_MINUTE(v) * 60
         + PyDateTime_DATE_GET_SECOND(v)) * 1000000
        + PyDateTime_DATE_GET_MICROSECOND(v)
    )
    _i32(b, 8)
    _i64(b, us)
    return 0


cdef int _text(Buf* b, object v) except -1:
    cdef Py_ssize_t n
    cdef const char* p
    if type(v) is not str:
        raise TypeError(f"text: not a str: {type(v).__name__}")
    p = PyUnicode_AsUTF8AndSize(v, &n)
    _field(b, p, n)
    return 0


cdef int _text_array(Buf* b, object v) except -1:
    """One dimension, no NULLs, lower bound 1; an empty array has no dimensions (as psycopg's)."""
    cdef Py_ssize_t start, n, k, count
    cdef const char* p
    if type(v) is not list and type(v) is not tuple:
        raise TypeError(f"text[]: not a list: {type(v).__name__}")
    count = len(v)
    start = b.size
    _i32(b, 0)  # the field's length, filled in below
    if count == 0:
        _i32(b, 0)
        _i32(b, 0)
        _i32(b, _TEXT_OID)
    else:
        _i32(b, 1)
        _i32(b, 0)
        _i32(b, _TEXT_OID)
        _i32(b, <int32_t>count)
        _i32(b, 1)
        for k in range(count):
            item = v[k]
            if type(item) is not str:
                raise TypeError(f"text[]: an item is not a str: {type(item).__name__}")
            p = PyUnicode_AsUTF8AndSize(item, &n)
            _field(b, p, n)
    _u32(b.data + start, <uint32_t>(b.size - start - 4))
    return 0


cdef int _json(Buf* b, object v, bint jsonb) except -1:
    cdef Py_ssize_t n
    if type(v) is not bytes:
        raise TypeError(f"json: not bytes: {type(v).__name__}")
    n = PyBytes_GET_SIZE(v)
    if jsonb:
        _i32(b, <int32_t>(n + 1))
        _bytes(b, b"\x01", 1)
        _bytes(b, PyBytes_AS_STRING(v), n)
    else:
        _field(b, PyBytes_AS_STRING(v), n)
    return 0


def copy_data(list rows, str types, list ends=None):
    """The binary COPY stream of ``rows`` (tuples with one value per character of ``types``).

    ``ends``, when given, receives where the header ends and then where each row ends: the stream of
    a subset of the rows is the header, their byte ranges and the trailer (``sink._copy_subset``)."""
    cdef Buf b
    cdef Py_ssize_t ncols = len(types), k
    cdef Py_UCS4 code
    cdef tuple row
    b.size = 0
    b.cap = 256 + 512 * len(rows)
    b.data = <char*>PyMem_Malloc(b.cap)
    if b.data == NULL:
        raise MemoryError()
    try:
        _bytes(&b, PyBytes_AS_STRING(_SIGNATURE), PyBytes_GET_SIZE(_SIGNATURE))
        if ends is not None:
            ends.append(b.size)
        for r in rows:
            row = <tuple?>r
            if len(row) != ncols:
                raise ValueError(f"a row has {len(row)} values for {ncols} columns")
            _i16(&b, <int16_t>ncols)
            for k in range(ncols):
                v = row[k]
                if v is None:
                    _i32(&b, -1)
                    continue
                code = types[k]
                if code == u"t":
                    _text(&b, v)
                elif code == u"q":
                    if type(v) is not int:
                        raise TypeError(f"int8: not an int: {type(v).__name__}")
                    _i32(&b, 8)
                    _i64(&b, PyLong_AsLongLong(v))
                elif code == u"i":
                    if type(v) is not int or not -2147483648 <= v <= 2147483647:
                        raise TypeError(f"int4: not an int4: {v!r}")
                    _i32(&b, 4)
                    _i32(&b, <int32_t>PyLong_AsLongLong(v))
                elif code == u"b":
                    if type(v) is not bool:
                        raise TypeError(f"bool: not a bool: {type(v).__name__}")
                    _i32(&b, 1)
                    _bytes(&b, b"\x01" if v else b"\x00", 1)
                elif code == u"T":
                    _text_array(&b, v)
                elif code == u"j":
                    _json(&b, v, False)
                elif code == u"J":
                    _json(&b, v, True)
                elif code == u"z":
                    _timestamptz(&b, v)
                else:
                    raise ValueError(f"unknown type code {code!r}")
            if ends is not None:
                ends.append(b.size)
        _i16(&b, -1)
        return PyBytes_FromStringAndSize(b.data, b.size)
    finally:
        PyMem_Free(b.data)
