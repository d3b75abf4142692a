"""What is checked: `variant` loads a TARGET and reads what it declares it supports; the bundled targets are the
convolutions of well-known libraries, one module each."""

BUNDLED = {
    "oracle.targets.torch": "torch",
    "oracle.targets.torch:channels_last": "torch",
    "oracle.targets.jax": "jax",
    "oracle.targets.onnx": "onnx",
    "oracle.targets.onnxruntime": "onnxruntime",
    "oracle.targets.onnxruntime:unoptimized": "onnxruntime",
    "oracle.targets.onnxruntime:auto_pad": "onnxruntime",
    "oracle.targets.openvino": "openvino",
    "oracle.targets.openvino:f32": "openvino",
    "oracle.targets.tensorflow": "tensorflow",
    "oracle.targets.paddle": "paddlepaddle",
    "oracle.targets.pytensor": "pytensor",
}
"""Every bundled target, and the distribution (``pip install`` name) whose convolution it checks."""

IMPORT_NAMES = {"paddlepaddle": "paddle"}
"""Distributions imported under another name."""
