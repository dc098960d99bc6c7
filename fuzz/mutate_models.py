"""Structure-aware mutants of the model seeds, for fuzz/fuzz_model.cpp.

usage: /usr/bin/python3 fuzz/mutate_models.py SEED_DIR OUT_DIR [COUNT] [RNG_SEED]

libFuzzer mutates bytes, so most of its inputs die in the protobuf parser or change a name; the
values the loader, the graph validation and the kernel factories interpret (attribute values and
list lengths, dims, data types, input/output wiring, opsets, op types, subgraph signatures) are
rarely hit in a valid encoding. This writes COUNT (default 2000) valid protobufs, each a seed with
1-3 such field-level changes, deterministically from RNG_SEED (default 0). tools/fuzz.sh passes
them to the model target as extra seeds: libFuzzer runs every one first, then mutates further.
"""
import os
import random
import sys

import onnx
from onnx import AttributeProto, TensorProto

SEEDS, OUT = sys.argv[1], sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 0)

INTS = [-(1 << 62), -(1 << 31), -2, -1, 0, 1, 2, 3, 7, 64, 1 << 20, (1 << 31) - 1, 1 << 31, 1 << 40, (1 << 63) - 1]
FLOATS = [float("nan"), float("inf"), float("-inf"), 0.0, -1.0, 1e-45, 3.4e38, 1e300]
OPS = ["Conv", "ConvTranspose", "Gemm", "MatMul", "Reshape", "Split", "Slice", "Gather", "Concat", "Transpose", "Resize",
       "Pad", "MaxPool", "AveragePool", "LSTM", "GRU", "RNN", "Einsum", "TopK", "If", "Loop", "Scan", "Constant",
       "ConstantOfShape", "QuantizeLinear", "DequantizeLinear", "Softmax", "LayerNormalization", "Squeeze",
       "Unsqueeze", "Expand", "Tile", "Flatten", "CumSum", "OneHot", "Range", "Trilu", "DepthToSpace", "Cast",
       "BatchNormalization", "ReduceMean", "Upsample", "GatherND", "ScatterND", "MatMulInteger", "Identity"]
DTYPES = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 21, 22, 23, 99]


def graphs(g):
    """g and every subgraph below it."""
    yield g
    for n in g.node:
        for a in n.attribute:
            if a.type == AttributeProto.GRAPH:
                yield from graphs(a.g)
            for sg in a.graphs:
                yield from graphs(sg)


def names(g):
    r = [i.name for i in g.input] + [t.name for t in g.initializer]
    for n in g.node:
        r += list(n.output)
    return r or ["x"]


def mutate_attr(a):
    if a.type == AttributeProto.INT:
        a.i = rng.choice(INTS)
    elif a.type == AttributeProto.FLOAT:
        a.f = rng.choice(FLOATS)
    elif a.type == AttributeProto.INTS:
        k = rng.randrange(4)
        if k == 0 and len(a.ints):
            a.ints[rng.randrange(len(a.ints))] = rng.choice(INTS)
        elif k == 1:
            del a.ints[rng.randrange(len(a.ints) + 1):]
        else:
            a.ints.extend(rng.choice(INTS) for _ in range(rng.randrange(1, 4)))
    elif a.type == AttributeProto.FLOATS:
        a.floats.append(rng.choice(FLOATS))
    elif a.type == AttributeProto.STRING:
        a.s = rng.choice([b"", b"bogus", b"linear", b"NOTSET", b"ij,jk->ik", b"...,i->...", b"CRD", b"a" * 300])
    elif a.type == AttributeProto.TENSOR:
        mutate_tensor(a.t)
    elif a.type == AttributeProto.GRAPH:
        g = a.g
        (del_last(g.output) if rng.random() < 0.5 else del_last(g.input))
    else:
        a.type = rng.choice([AttributeProto.INT, AttributeProto.FLOATS, AttributeProto.STRING])


def del_last(field):
    if len(field):
        del field[len(field) - 1]


def mutate_tensor(t):
    k = rng.randrange(5)
    if k == 0:
        t.data_type = rng.choice(DTYPES)
    elif k == 1 and len(t.dims):
        t.dims[rng.randrange(len(t.dims))] = rng.choice(INTS)
    elif k == 2:
        t.dims.append(rng.choice([0, 1, 2, 1 << 20]))
    elif k == 3 and len(t.dims):
        del t.dims[len(t.dims) - 1]
    elif t.raw_data:
        t.raw_data = t.raw_data[: rng.randrange(len(t.raw_data))]


def mutate(m):
    gs = list(graphs(m.graph))
    g = rng.choice(gs)
    k = rng.randrange(12)
    nodes = list(g.node)
    n = rng.choice(nodes) if nodes else None
    if k <= 2 and n is not None and len(n.attribute):
        mutate_attr(rng.choice(n.attribute))
    elif k == 3 and n is not None:
        n.op_type = rng.choice(OPS)
    elif k == 4 and n is not None:
        if len(n.input) and rng.random() < 0.5:
            n.input[rng.randrange(len(n.input))] = rng.choice(names(g) + ["", "undefined"])
        else:
            n.input.append(rng.choice(names(g) + [""]))
    elif k == 5 and n is not None:
        if rng.random() < 0.5:
            del_last(n.input)
        else:
            n.output.append(rng.choice(names(g) + [""]))
    elif k == 6 and len(g.initializer):
        mutate_tensor(rng.choice(g.initializer))
    elif k == 7:
        m.opset_import[0].version = rng.choice([1, 6, 7, 9, 10, 11, 13, 17, 18, 20, 21, 22, 100])
    elif k == 8 and len(g.input) + len(g.output):
        v = rng.choice(list(g.input) + list(g.output))
        tt = v.type.tensor_type
        if rng.random() < 0.5:
            tt.elem_type = rng.choice(DTYPES)
        elif len(tt.shape.dim):
            tt.shape.dim[rng.randrange(len(tt.shape.dim))].dim_value = rng.choice(INTS[3:])
    elif k == 9 and n is not None:
        a = n.attribute.add()
        a.name = rng.choice(["axis", "axes", "perm", "kernel_shape", "pads", "strides", "group", "split", "to",
                             "mode", "hidden_size", "direction", "num_outputs", "block_size", "dilations"])
        a.type = AttributeProto.INT
        a.i = rng.choice(INTS)
    elif k == 10 and len(nodes) > 1:
        i, j = rng.sample(range(len(nodes)), 2)
        g.node[i].CopyFrom(nodes[j])  # duplicate a node: duplicate producers, shifted wiring
    elif n is not None:
        n.domain = rng.choice(["", "ai.onnx", "com.microsoft", "ai.onnx.ml"])


seeds = []
for f in sorted(os.listdir(SEEDS)):
    if f.endswith(".onnx"):
        with open(os.path.join(SEEDS, f), "rb") as fh:
            seeds.append((f[:-5], fh.read()))
os.makedirs(OUT, exist_ok=True)
for i in range(COUNT):
    name, data = seeds[i % len(seeds)]
    m = onnx.ModelProto()
    m.ParseFromString(data)
    for _ in range(rng.randint(1, 3)):
        mutate(m)
    with open(os.path.join(OUT, f"{name}-{i:05d}.onnx"), "wb") as fh:
        fh.write(m.SerializeToString())
print(f"wrote {COUNT} mutants of {len(seeds)} seeds to {OUT}")
