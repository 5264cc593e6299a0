"""Models: tokenizer, the neural classifier, training, evaluation, the registry, ONNX scoring.

Importing this package does not import PyTorch: scoring (``predict``) needs ONNX Runtime only.
"""
