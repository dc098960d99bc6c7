"""Writes the seed corpus of fuzz/fuzz_model.cpp into fuzz/corpus/model (or OUT_DIR).

usage: /usr/bin/python3 fuzz/make_corpus.py [OUT_DIR]

Each seed is a small model that reaches a different part of model loading, graph validation,
the graph passes and kernel construction, so that libFuzzer's mutations start from every
structure the loader accepts rather than having to discover them byte by byte: Constant nodes
with each value_* attribute, If/Loop/Scan subgraphs reading outer values, every TensorProto
storage field (raw, typed fields, 4-bit, external data), untyped attributes of old exporters,
BatchNormalization after Conv/ConvTranspose/Gemm, opset-17 ops that the opset-21 upgrade rewrites,
Q/DQ nodes, and a few invalid graphs (cycle, dangling input, duplicate producer). Seeds are kept
far below tools/fuzz.sh's -max_len (64 KiB). Deterministic: rerunning rewrites identical files.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "model")
F = TensorProto.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def arange(shape, dtype=np.float32):
    return (np.arange(int(np.prod(shape))) % 7 - 3).astype(dtype).reshape(shape)


def save(name, nodes, inits=(), inputs=None, outputs=None, opset=13, ir=8, value_info=(), extra_opsets=()):
    g = helper.make_graph(list(nodes), name, inputs if inputs is not None else [vi("x", [1, 4])],
                          outputs if outputs is not None else [vi("y", None)], list(inits), value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] + list(extra_opsets), ir_version=ir)
    write(name, m.SerializeToString())


def write(name, data):
    assert len(data) < 16384, name
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(data)


def n(op, ins, outs, name=None, **attrs):
    return helper.make_node(op, ins, outs, name=name or (op.lower() + "_" + outs[0]), **attrs)


os.makedirs(OUT, exist_ok=True)

# --- Constant nodes: every value_* attribute kind ---
save("constant_nodes", [
    n("Constant", [], ["c_t"], value=numpy_helper.from_array(arange([1, 4]), "c_t")),
    n("Constant", [], ["c_f"], value_float=0.5),
    n("Constant", [], ["c_fs"], value_floats=[1.0, 2.0, 3.0, 4.0]),
    n("Constant", [], ["c_i"], value_int=2),
    n("Constant", [], ["c_is"], value_ints=[2, 2]),
    n("Add", ["x", "c_t"], ["a"]), n("Mul", ["a", "c_f"], ["b"]), n("Sub", ["b", "c_fs"], ["c"]),
    n("Reshape", ["c", "c_is"], ["y"]),
])

# --- subgraphs: If branches and a Loop body capture outer values ---
then_g = helper.make_graph([n("Add", ["x", "w"], ["t_out"])], "then", [], [vi("t_out", [1, 4])])
else_g = helper.make_graph([n("Sub", ["x", "w"], ["e_out"])], "else", [], [vi("e_out", [1, 4])])
save("if_subgraph", [n("ReduceSum", ["x"], ["s"], keepdims=0), n("Greater", ["s", "zero"], ["cond"]),
                     n("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)],
     [init("w", arange([1, 4])), init("zero", np.float32(0))])
nested = helper.make_graph([n("If", ["cond"], ["o"], then_branch=then_g, else_branch=else_g)], "outer_then", [], [vi("o", [1, 4])])
save("if_nested", [n("ReduceSum", ["x"], ["s"], keepdims=0), n("Greater", ["s", "zero"], ["cond"]),
                   n("If", ["cond"], ["y"], then_branch=nested, else_branch=else_g)],
     [init("w", arange([1, 4])), init("zero", np.float32(0))])
body = helper.make_graph([n("Identity", ["cond_in"], ["cond_out"]), n("Add", ["acc_in", "w"], ["acc_out"])], "body",
                         [vi("iter", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("acc_in", [1, 4])],
                         [vi("cond_out", [], TensorProto.BOOL), vi("acc_out", [1, 4])])
save("loop", [n("Loop", ["trip", "cond", "x"], ["y"], body=body)],
     [init("trip", np.int64(3)), init("cond", np.bool_(True)), init("w", arange([1, 4]))])
scan_body = helper.make_graph([n("Add", ["s_in", "x_t"], ["s_out"]), n("Identity", ["s_out"], ["y_t"])], "scan_body",
                              [vi("s_in", [4]), vi("x_t", [4])], [vi("s_out", [4]), vi("y_t", [4])])
save("scan", [n("Scan", ["s0", "x"], ["s_final", "y"], body=scan_body, num_scan_inputs=1)], [init("s0", np.zeros(4, np.float32))],
     outputs=[vi("s_final", [4]), vi("y", [1, 4])])

# --- every TensorProto storage form ---
typed = [helper.make_tensor("t_f32", F, [2, 2], [1.0, 2.0, 3.0, 4.0]),
         helper.make_tensor("t_f64", TensorProto.DOUBLE, [2], [1.0, 2.0]),
         helper.make_tensor("t_i64", TensorProto.INT64, [2], [2, 2]),
         helper.make_tensor("t_i32", TensorProto.INT32, [2], [1, -1]),
         helper.make_tensor("t_i8", TensorProto.INT8, [2], [-3, 3]),
         helper.make_tensor("t_u8", TensorProto.UINT8, [2], [0, 255]),
         helper.make_tensor("t_bool", TensorProto.BOOL, [2], [True, False]),
         helper.make_tensor("t_f16", TensorProto.FLOAT16, [2], np.array([1, 2], np.float16).view(np.uint16).tolist()),
         helper.make_tensor("t_u64", TensorProto.UINT64, [1], [7]),
         helper.make_tensor("t_raw", F, [2, 2], arange([2, 2]).tobytes(), raw=True),
         helper.make_tensor("t_empty", F, [0, 4], [])]
# INT4 (22) / UINT4 (21) postdate Debian's onnx: packed two per byte, low nibble first.
for name, code, packed in (("t_i4_typed", 22, None), ("t_u4_raw", 21, bytes([0x2F, 0x01]))):
    t = TensorProto(name=name, data_type=code, dims=[3])
    if packed is None:
        t.int32_data.extend([0x2F, 0x01])
    else:
        t.raw_data = packed
    typed.append(t)
save("tensor_fields", [n("Reshape", ["x", "t_i64"], ["r"]), n("Add", ["r", "t_raw"], ["y"])], typed)

ext = init("W", arange([4, 3]))
ext.ClearField("raw_data")
ext.data_location = TensorProto.EXTERNAL
for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "48")):
    e = ext.external_data.add()
    e.key, e.value = k, v
save("external_data", [n("MatMul", ["x", "W"], ["y"])], [ext])

# --- attributes: untyped (old exporters), strings, tensors, graphs lists ---
a = helper.make_attribute("alpha", 0.2)
a.type = onnx.AttributeProto.UNDEFINED
leaky = n("LeakyRelu", ["x"], ["y"])
leaky.attribute.extend([a])
save("untyped_attr", [leaky], opset=6, ir=3)

# --- graph passes: BN after Conv / ConvTranspose / Gemm, Identity/Dropout, IR3 initializer inputs ---
c = 2
bn_params = [init("g", np.full(c, 1.5, np.float32)), init("b", np.full(c, 0.1, np.float32)),
             init("m", np.full(c, 0.2, np.float32)), init("v", np.full(c, 4.0, np.float32))]
save("conv_bn", [n("Conv", ["x", "Wc", "Bc"], ["cv"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
                 n("BatchNormalization", ["cv", "g", "b", "m", "v"], ["y"], epsilon=1e-3)],
     [init("Wc", arange([c, 1, 3, 3])), init("Bc", np.zeros(c, np.float32))] + bn_params, inputs=[vi("x", [1, 1, 4, 4])])
save("convtranspose_bn", [n("ConvTranspose", ["x", "Wt"], ["cv"], group=1, strides=[2, 2]),
                          n("BatchNormalization", ["cv", "g", "b", "m", "v"], ["y"])],
     [init("Wt", arange([1, c, 2, 2]))] + bn_params, inputs=[vi("x", [1, 1, 3, 3])])
save("gemm_bn", [n("Gemm", ["x", "Wg", "Cg"], ["gm"], transB=1, alpha=1.0, beta=1.0),
                 n("BatchNormalization", ["gm", "g", "b", "m", "v"], ["y"])],
     [init("Wg", arange([c, 4])), init("Cg", np.zeros(c, np.float32))] + bn_params)
save("identity_dropout_ir3", [n("Identity", ["x"], ["i"]), n("Dropout", ["i"], ["d"], ratio=0.5), n("MatMul", ["d", "W"], ["y"])],
     [init("W", arange([4, 3]))], inputs=[vi("x", [1, 4]), vi("W", [4, 3])], opset=9, ir=3)

# --- opset-17 ops that upgrade_opset_to_21 rewrites ---
save("opset17_upgrade", [n("ReduceMean", ["x"], ["rm"], axes=[1], keepdims=1), n("Split", ["x"], ["s0", "s1"], axis=1),
                         n("Add", ["s0", "s1"], ["sa"]), n("Concat", ["sa", "rm"], ["y"], axis=1)],
     outputs=[vi("y", [1, 3])], opset=17)
save("opset11_squeeze", [n("Unsqueeze", ["x"], ["u"], axes=[0]), n("Squeeze", ["u"], ["y"], axes=[0])], opset=11, ir=6)

# --- Q/DQ (per-tensor and per-axis) and a quantized MatMul ---
save("qdq", [n("QuantizeLinear", ["x", "sx", "zx"], ["xq"]), n("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
             n("DequantizeLinear", ["Wq", "sw", "zw"], ["Wd"], axis=1), n("MatMul", ["xd", "Wd"], ["y"])],
     [init("sx", np.float32(0.1)), init("zx", np.uint8(128)), init("Wq", arange([4, 3], np.int8)),
      init("sw", np.full(3, 0.05, np.float32)), init("zw", np.zeros(3, np.int8))])
save("matmul_integer", [n("MatMulInteger", ["xq", "Wq", "zx", "zw"], ["y"])],
     [init("Wq", arange([4, 3], np.int8)), init("zx", np.uint8(1)), init("zw", np.int8(0))], inputs=[vi("xq", [1, 4], TensorProto.UINT8)])

# --- a spread of kernels whose factories read attributes and constant inputs ---
img = [vi("x", [1, 2, 4, 4])]
save("pool_resize_pad", [n("MaxPool", ["x"], ["mp"], kernel_shape=[2, 2], strides=[1, 1], pads=[0, 0, 1, 1]),
                         n("AveragePool", ["mp"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
                         n("Resize", ["ap", "", "scales"], ["rs"], mode="nearest"),
                         n("Pad", ["rs", "pads"], ["pd"], mode="reflect"), n("GlobalAveragePool", ["pd"], ["y"])],
     [init("scales", np.array([1, 1, 2, 2], np.float32)), init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], inputs=img)
save("shape_ops", [n("Shape", ["x"], ["sh"]), n("Gather", ["sh", "idx"], ["g"], axis=0), n("Concat", ["g", "minus1"], ["ns"], axis=0),
                   n("Reshape", ["x", "ns"], ["r"]), n("Transpose", ["r"], ["t"], perm=[1, 0]),
                   n("Slice", ["t", "st", "en", "ax", "sp"], ["sl"]), n("Expand", ["sl", "es"], ["ex"]),
                   n("Tile", ["ex", "reps"], ["ti"]), n("Flatten", ["ti"], ["y"], axis=1)],
     [init("idx", np.array([0], np.int64)), init("minus1", np.array([-1], np.int64)), init("st", np.array([0], np.int64)),
      init("en", np.array([-1], np.int64)), init("ax", np.array([1], np.int64)), init("sp", np.array([1], np.int64)),
      init("es", np.array([2, 1], np.int64)), init("reps", np.array([1, 2], np.int64))], inputs=[vi("x", [1, 2, 4, 4])])
save("norm_softmax", [n("LayerNormalization", ["x", "ln_s", "ln_b"], ["ln"], axis=-1, epsilon=1e-5),
                      n("Softmax", ["ln"], ["sm"], axis=-1), n("InstanceNormalization", ["sm", "in_s", "in_b"], ["y"])],
     [init("ln_s", np.ones(4, np.float32)), init("ln_b", np.zeros(4, np.float32)), init("in_s", np.ones(2, np.float32)),
      init("in_b", np.zeros(2, np.float32))], inputs=img, opset=17)
save("einsum_topk", [n("Einsum", ["x", "W"], ["e"], equation="bi,ij->bj"), n("TopK", ["e", "k"], ["y", "ind"], axis=-1)],
     [init("W", arange([4, 3])), init("k", np.array([2], np.int64))], outputs=[vi("y", None), vi("ind", None, TensorProto.INT64)])
H = 3
save("lstm_gru", [n("LSTM", ["x", "Wl", "Rl", "Bl"], ["", "yl"], hidden_size=H),
                  n("GRU", ["x", "Wgru", "Rgru"], ["", "y"], hidden_size=H, linear_before_reset=1)],
     [init("Wl", arange([1, 4 * H, 4])), init("Rl", arange([1, 4 * H, H])), init("Bl", np.zeros((1, 8 * H), np.float32)),
      init("Wgru", arange([1, 3 * H, 4])), init("Rgru", arange([1, 3 * H, H]))],
     inputs=[vi("x", [2, 1, 4])], outputs=[vi("y", None), vi("yl", None)])
save("dim_params", [n("Relu", ["x"], ["r"]), n("MatMul", ["r", "W"], ["y"])], [init("W", arange([4, 3]))],
     inputs=[vi("x", ["batch", 4])], outputs=[vi("y", ["batch", 3])], value_info=[vi("r", ["batch", 4])])
save("custom_domain", [n("Relu", ["x"], ["r"]), helper.make_node("Frob", ["r"], ["y"], name="frob", domain="com.example")],
     extra_opsets=[helper.make_opsetid("com.example", 1)])

# --- invalid graphs the validation must refuse ---
save("cycle", [n("Relu", ["b"], ["a"], name="r1"), n("Relu", ["a"], ["b"], name="r2"), n("Add", ["x", "b"], ["y"])])
save("dangling_input", [n("Add", ["x", "nope"], ["y"])])
save("duplicate_producer", [n("Relu", ["x"], ["y"], name="r1"), n("Relu", ["x"], ["y"], name="r2")])

print(f"wrote {len([f for f in os.listdir(OUT) if f.endswith('.onnx')])} seeds to {OUT}")
