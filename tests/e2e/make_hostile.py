"""Builds the hostile models and data of tests/e2e/errors_test.sh: one folder per failure class,
each with model.onnx and calib/. usage: make_hostile.py OUT_DIR FASHION_MNIST_MODEL"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT, FM = sys.argv[1], sys.argv[2]
F = TensorProto.FLOAT


def case(name):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "calib"), exist_ok=True)
    return d


def w_init(name="W", arr=None):
    return numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) if arr is None else arr, name)


def model(nodes, inits, inputs=None, outputs=None):
    inputs = inputs or [helper.make_tensor_value_info("x", F, [1, 4])]
    outputs = outputs or [helper.make_tensor_value_info("y", F, [1, 3])]
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def mm(a="x", b="W", y="y", name="mm"):
    return helper.make_node("MatMul", [a, b], [y], name=name)


def save(d, m, calib=True):
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    if calib:
        np.save(os.path.join(d, "calib", "s0.npy"), np.ones((1, 4), np.float32))


good = model([mm()], [w_init()])
good_bytes = good.SerializeToString()

# --- the model file ---
d = case("truncated"); save(d, good); open(os.path.join(d, "model.onnx"), "wb").write(good_bytes[: len(good_bytes) // 2])
d = case("corrupt"); save(d, good); open(os.path.join(d, "model.onnx"), "wb").write(b"\xff\xfe garbage \x00" * 16)
d = case("dangling_input"); save(d, model([mm(a="nope")], [w_init()]))
d = case("cycle"); save(d, model([helper.make_node("Relu", ["b"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["b"], name="r2"),
                                  mm()], [w_init()]))
d = case("duplicate_output"); save(d, model([mm(name="mm1"), mm(name="mm2")], [w_init()]))
d = case("missing_initializer"); save(d, model([mm()], []))
d = case("wrong_dtype_initializer"); save(d, model([mm()], [w_init(arr=np.ones((4, 3), np.int64))]))
t = w_init(); t.dims[0] = -4
d = case("negative_dims"); save(d, model([mm()], [t]))
t = w_init(); t.raw_data = t.raw_data[:20]
d = case("initializer_size"); save(d, model([mm()], [t]))
t = w_init(); del t.dims[:]; t.dims.extend([1 << 31, 1 << 31, 1 << 31])
d = case("absurd_dims"); save(d, model([mm()], [t]))
t = w_init(); del t.dims[:]; t.dims.extend([1 << 20, 1 << 20])
d = case("huge_dims"); save(d, model([mm()], [t]))


def external(name, location, length=48, file_bytes=48):
    d = case(name)
    t = w_init()
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
        e = t.external_data.add(); e.key = k; e.value = v
    save(d, model([mm()], [t]))
    if file_bytes is not None:
        with open(os.path.join(d, "weights.bin"), "wb") as f:
            f.write(np.arange(12, dtype=np.float32).tobytes()[:file_bytes])
    return d


external("external_missing", "missing.bin", file_bytes=None)
external("external_short", "weights.bin", file_bytes=20)
d = external("external_traversal", "../secret.bin", file_bytes=None)
external("external_absolute", "/etc/passwd", file_bytes=None)

d = case("unsupported_op"); save(d, model([helper.make_node("FrobnicateV9", ["x"], ["y"], name="frob")], []))

# --- calibration data (the model itself is fine) ---
d = case("calib_empty"); save(d, good, calib=False)
d = case("calib_dtype"); save(d, good, calib=False); np.save(os.path.join(d, "calib", "s0.npy"), np.ones((1, 4), np.float64))
d = case("calib_shape"); save(d, good, calib=False); np.save(os.path.join(d, "calib", "s0.npy"), np.ones((1, 5), np.float32))
d = case("calib_rank"); save(d, good, calib=False); np.save(os.path.join(d, "calib", "s0.npy"), np.ones((1, 1, 4), np.float32))
d = case("calib_npy_corrupt"); save(d, good, calib=False)
raw = open(os.path.join(d, "calib", "s0.npy"), "wb"); np.save(raw, np.ones((1, 4), np.float32)); raw.close()
b = open(os.path.join(d, "calib", "s0.npy"), "rb").read(); open(os.path.join(d, "calib", "s0.npy"), "wb").write(b[:-7])
d = case("calib_npy_header"); save(d, good, calib=False)
open(os.path.join(d, "calib", "s0.npy"), "wb").write(b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape': (1, 4" + b" " * 6 + b"\n")
d = case("calib_npz_corrupt"); save(d, good, calib=False)
np.savez(os.path.join(d, "calib", "s0.npz"), x=np.ones((1, 4), np.float32))
b = open(os.path.join(d, "calib", "s0.npz"), "rb").read(); open(os.path.join(d, "calib", "s0.npz"), "wb").write(b[: len(b) // 2])
d = case("calib_pb_corrupt"); save(d, good, calib=False)
os.makedirs(os.path.join(d, "calib", "test_data_set_0"))
open(os.path.join(d, "calib", "test_data_set_0", "input_0.pb"), "wb").write(b"\x0a\xff\xff\xff\xff\x0f garbage")
d = case("calib_nan"); save(d, good, calib=False)
np.save(os.path.join(d, "calib", "s0.npy"), np.array([[1, np.nan, 2, 3]], np.float32))
d = case("calib_inf"); save(d, good, calib=False)
np.save(os.path.join(d, "calib", "s0.npy"), np.array([[1, 2, np.inf, 3]], np.float32))
d = case("calib_png_corrupt"); shutil.copy(FM, os.path.join(d, "model.onnx"))
open(os.path.join(d, "calib", "img0.png"), "wb").write(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x1c\x00\x00\x00\x1c\x08\x00\x00\x00\x00garbage")
two = model([helper.make_node("Add", ["a", "b"], ["y"], name="add")], [],
            inputs=[helper.make_tensor_value_info("a", F, [1, 3]), helper.make_tensor_value_info("b", F, [1, 3])])
d = case("calib_multi_missing"); save(d, two, calib=False)
for s in ("s0", "s1"):
    os.makedirs(os.path.join(d, "calib", s))
    np.save(os.path.join(d, "calib", s, "a.npy"), np.ones((1, 3), np.float32))
np.save(os.path.join(d, "calib", "s0", "b.npy"), np.ones((1, 3), np.float32))

# --- output ---
for name in ("out_unwritable", "out_exists", "out_is_input", "disk_full", "disk_full_report", "eval_nan"):
    d = case(name); save(d, good)
shutil.copy(FM, os.path.join(OUT, "disk_full", "model.onnx"))
for i in range(4):
    np.save(os.path.join(OUT, "disk_full", "calib", "s0.npy"), np.zeros((1, 1, 28, 28), np.float32) + i)
open(os.path.join(OUT, "out_exists", "model.int8.onnx"), "w").write("keep me\n")
os.makedirs(os.path.join(OUT, "eval_nan", "eval"))
np.save(os.path.join(OUT, "eval_nan", "eval", "e0.npy"), np.array([[1, 2, 3, np.nan]], np.float32))
