#!/usr/bin/python3
"""Export deterministic test models (random weights, no downloads) to ONNX, with input samples.

usage: /usr/bin/python3 tools/models/export_models.py OUTDIR [--only NAME ...] [--list]

Writes, for every model NAME:
  OUTDIR/NAME/model.onnx
  OUTDIR/NAME/inputs/sample_00K.npy             single-input models (one sample per file, batch 1)
  OUTDIR/NAME/inputs/sample_00K/<input>.npy     multi-input models (one folder per sample)
and OUTDIR/manifest.json ({name: {opset, inputs, outputs, ops, note}}) for the models exported in
this run (merged with an existing manifest).

Every model is built from torch.manual_seed(0) / numpy seed 0 (per model), so two exports give
the same weights and samples. Needs python3-torch/torchvision/onnx/numpy (Debian: run it with
/usr/bin/python3). Generated models are large (resnet18 ~45 MB): keep them out of git.

Models (see MODELS below): resnet18, mobilenet_v2 (torchvision, weights=None, eval, opset 13,
dynamic batch); transformer_encoder (nn.TransformerEncoderLayer, opset 14); lstm, gru (opset 13);
if_branch, loop (torch.jit.script control flow -> ONNX If / Loop, opset 13); multi_input (float
input with a dynamic dim + int64 scalar input, opset 13); small_cnn_opset{7,9,11} (the same CNN
with nearest Upsample, bilinear interpolate, Pad, Clip, Slice, Squeeze, ... at old opsets);
paddle_like (hand-built with onnx.helper: Constant-node weights, unfolded BatchNormalization,
Reshape with a Constant shape, Gemm transB=0, opset 11).
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the e2e test maps this to a skip (exit 77)
    print(f"export_models.py: cannot import torch ({e})", file=sys.stderr)
    sys.exit(77)

NUM_SAMPLES = 4


# ---- helpers ---------------------------------------------------------------------------------------

def seed_all(seed=0):
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def randomize_bn(model, input_shape, rng_seed=1):
    """Random BatchNorm affine params and running statistics measured on random inputs.

    Default init (identity BN, running mean 0 / var 1) on randomly initialized deep nets lets the
    signal vanish or explode: random mobilenet_v2 gives the same logits for every input (the
    biases dominate). Statistics of a few train-mode batches make every BN normalize, like in a
    trained net, so outputs depend on the input and the BN folding done by the exporter changes
    the conv weights non-trivially."""
    g = torch.Generator().manual_seed(rng_seed)
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    for m in bns:
        n = m.num_features
        with torch.no_grad():
            m.weight.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.copy_(torch.randn(n, generator=g) * 0.1)
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, *input_shape[1:], generator=g))
    model.eval()


def torch_export(model, args, path, opset, input_names, output_names, dynamic_axes=None):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer / old-opset Upsample warnings
        torch.onnx.export(model, args, path, opset_version=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)


def save_samples(model_dir, input_names, samples):
    """samples: list of tuples of numpy arrays (one per input, in input order)."""
    d = os.path.join(model_dir, "inputs")
    os.makedirs(d, exist_ok=True)
    for i, arrs in enumerate(samples):
        if len(input_names) == 1:
            np.save(os.path.join(d, f"sample_{i:03d}.npy"), arrs[0])
        else:
            sd = os.path.join(d, f"sample_{i:03d}")
            os.makedirs(sd, exist_ok=True)
            for name, a in zip(input_names, arrs):
                np.save(os.path.join(sd, f"{name}.npy"), a)


def op_counts(model):
    """op_type -> count, including nodes inside subgraphs (If/Loop bodies)."""
    counts = {}

    def walk(g):
        for n in g.node:
            key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}:{n.op_type}"
            counts[key] = counts.get(key, 0) + 1
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(model.graph)
    return dict(sorted(counts.items()))


def check_and_describe(path, require_ops=()):
    m = onnx.load(path)
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)  # catches type errors
    ops = op_counts(m)
    missing = [o for o in require_ops if o not in ops]
    if missing:
        raise RuntimeError(f"{path}: expected op(s) {missing} in the exported graph, got {sorted(ops)}")
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)

    def vi(v):
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else (d.dim_value if d.HasField("dim_value") else "?")
                for d in t.shape.dim]
        return {"name": v.name, "dtype": TensorProto.DataType.Name(t.elem_type).lower(), "shape": dims}
    inits = {i.name for i in m.graph.initializer}
    return {
        "opset": opset,
        "inputs": [vi(v) for v in m.graph.input if v.name not in inits],
        "outputs": [vi(v) for v in m.graph.output],
        "ops": ops,
        "size_bytes": os.path.getsize(path),
    }


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---- model builders: each returns (input_names, samples, require_ops, note) ------------------------

def export_torchvision(name, path, rng):
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    randomize_bn(model, (1, 3, 224, 224))
    if name == "mobilenet_v2":
        # torchvision's N(0, 0.01) classifier init gives logits of ~0.05, close to the test's
        # atol; N(0, 0.1) gives O(1) logits like resnet18's
        nn.init.normal_(model.classifier[1].weight, 0.0, 0.1)
    model.eval()
    x = torch.from_numpy(randn(rng, 1, 3, 224, 224))
    torch_export(model, (x,), path, 13, ["input"], ["logits"],
                 dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    samples = [(randn(rng, 1, 3, 224, 224),) for _ in range(NUM_SAMPLES)]
    return ["input"], samples, ["Conv"], "BatchNorm folded into Conv by the exporter (eval mode)"


def export_resnet18(path, rng):
    return export_torchvision("resnet18", path, rng)


def export_mobilenet_v2(path, rng):
    return export_torchvision("mobilenet_v2", path, rng)


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
                                                batch_first=True)
        self.head = nn.Linear(64, 8)

    def forward(self, x):
        return self.head(self.layer(x))


def export_transformer_encoder(path, rng):
    torch.manual_seed(0)
    model = EncoderBlock().eval()
    x = torch.from_numpy(randn(rng, 1, 16, 64))
    # In eval mode with grad disabled nn.TransformerEncoderLayer takes the fused "fast path"
    # (aten::_transformer_encoder_layer_fwd), which has no ONNX symbolic; with grad enabled and
    # parameters requiring grad it runs the regular MultiheadAttention/LayerNorm/Linear code.
    # (torch.onnx.export itself leaves grad on; the guard keeps a no_grad caller from breaking it.)
    with torch.enable_grad():
        torch_export(model, (x,), path, 14, ["tokens"], ["out"],
                     dynamic_axes={"tokens": {0: "batch", 1: "seq"}, "out": {0: "batch", 1: "seq"}})
    samples = [(randn(rng, 1, 16, 64),) for _ in range(NUM_SAMPLES)]
    return ["tokens"], samples, ["MatMul", "Softmax"], "LayerNorm is decomposed (LayerNormalization is opset 17)"


class LSTMModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(32, 64, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


class GRUModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(32, 64, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        y, h = self.rnn(x)
        return self.fc(y), h


def export_lstm(path, rng):
    torch.manual_seed(0)
    model = LSTMModel().eval()
    x = torch.from_numpy(randn(rng, 1, 20, 32))
    torch_export(model, (x,), path, 13, ["seq"], ["out"])
    samples = [(randn(rng, 1, 20, 32),) for _ in range(NUM_SAMPLES)]
    return ["seq"], samples, ["LSTM"], "2 layers, bidirectional, batch_first (Transpose around LSTM)"


def export_gru(path, rng):
    torch.manual_seed(0)
    model = GRUModel().eval()
    x = torch.from_numpy(randn(rng, 1, 20, 32))
    torch_export(model, (x,), path, 13, ["seq"], ["out", "h_n"])
    samples = [(randn(rng, 1, 20, 32),) for _ in range(NUM_SAMPLES)]
    return ["seq"], samples, ["GRU"], "2 layers, bidirectional, linear_before_reset=1, also outputs h_n"


class IfModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        y = self.fc(x)
        if bool(y.sum() > 0):
            z = y * 2.0 + torch.relu(x)
        else:
            z = torch.sigmoid(y) - 1.0
        return z


def export_if_branch(path, rng):
    torch.manual_seed(0)
    model = torch.jit.script(IfModel().eval())
    torch_export(model, (torch.zeros(1, 16),), path, 13, ["x"], ["y"])
    # Two samples take the then-branch, two the else-branch (checked below with torch itself).
    samples = []
    for i in range(NUM_SAMPLES):
        for _ in range(100):
            x = randn(rng, 1, 16) + float(rng.choice([-2.0, 2.0]))
            s = float(model.fc(torch.from_numpy(x)).sum())
            if (s > 0) == (i % 2 == 0):
                break
        else:
            raise RuntimeError(f"no sample for the {'then' if i % 2 == 0 else 'else'} branch")
        samples.append((x,))
    return ["x"], samples, ["If"], "samples 0,2 take the then-branch, 1,3 the else-branch"


class LoopModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        # trip count depends on the data: 1..6
        # (an int64 tensor first: int() of a float tensor exports a float Loop trip count, which
        # ONNX Runtime rejects)
        n = int(torch.clamp(x.abs().sum() * 0.25, 1.0, 6.0).to(torch.int64))
        h = x
        acc = torch.zeros_like(x)
        for i in range(n):
            h = torch.tanh(self.fc(h)) + x * 0.5
            acc = acc + h * float(i + 1)
        return acc


def export_loop(path, rng):
    torch.manual_seed(0)
    model = torch.jit.script(LoopModel().eval())
    torch_export(model, (torch.ones(1, 16),), path, 13, ["x"], ["y"])
    samples = [(randn(rng, 1, 16, scale=0.3 + 0.4 * i),) for i in range(NUM_SAMPLES)]
    return ["x"], samples, ["Loop"], "trip counts vary per sample"


class MultiInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 8)

    def forward(self, x, k):
        # x: [1, N, 16] (N dynamic), k: int64 scalar (0 <= k < N)
        row = torch.index_select(x, 1, k.reshape(1))          # Gather on the dynamic axis
        scaled = x * k.to(torch.float32)                        # Cast int64 -> float
        y = self.fc(scaled + row)                               # broadcast [1,1,16] over N
        return y, y.mean(dim=1) + k.to(torch.float32)


def export_multi_input(path, rng):
    torch.manual_seed(0)
    model = MultiInput().eval()
    args = (torch.zeros(1, 5, 16), torch.tensor(2, dtype=torch.int64))
    torch_export(model, args, path, 13, ["x", "k"], ["y", "pooled"],
                 dynamic_axes={"x": {1: "n"}, "y": {1: "n"}})
    samples = []
    for n in (5, 8, 11, 3)[:NUM_SAMPLES]:
        samples.append((randn(rng, 1, n, 16), np.array(int(rng.integers(0, n)), dtype=np.int64)))
    return ["x", "k"], samples, ["Gather", "Cast"], "dynamic dim n differs per sample (5, 8, 11, 3)"


class SmallCNN(nn.Module):
    """static_sizes: torch 1.13 cannot export scale_factor-based upsampling below opset 9
    ("upsample_nearest2d, torch._C.Value (output_size) indexing"), so for opset 7/8 the two
    upsamplings are given as explicit output sizes. For these shapes (8x8 -> 16x16 -> 32x32) the
    exporter emits the same Upsample(scales=[1,1,2,2]) and the math is identical."""

    def __init__(self, static_sizes=False):
        super().__init__()
        self.static_sizes = static_sizes
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        if static_sizes:
            self.up = nn.Upsample(size=(16, 16), mode="nearest")
        else:
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv3 = nn.Conv2d(16, 8, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))                      # Conv (+folded BN), Relu
        x = F.max_pool2d(x, 2)                                   # MaxPool  16x16
        x = F.pad(x, (1, 1, 1, 1))                               # Pad (attr pads before opset 11)
        x = F.hardtanh(self.conv2(x), 0.0, 6.0)                  # Clip (attr min/max before 11)
        x = self.up(x)                                           # Upsample/Resize nearest
        if self.static_sizes:
            x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
        else:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = x[:, :, 1:-1, 2:]                                    # Slice (attrs before opset 10)
        feat = self.conv3(x)
        a, b = torch.chunk(feat, 2, dim=1)                       # Split
        feat = torch.cat([b, a * 0.5], dim=1)                    # Concat
        p = F.adaptive_avg_pool2d(feat, 1)                       # GlobalAveragePool [1,8,1,1]
        p = p.squeeze(3).squeeze(2)                              # Squeeze (attr axes before 13)
        logits = self.fc(p)
        return F.softmax(logits, dim=1), feat


def export_small_cnn(opset, path, rng):
    torch.manual_seed(0)
    model = SmallCNN(static_sizes=opset < 9)
    randomize_bn(model, (1, 3, 32, 32))
    model.eval()
    x = torch.from_numpy(randn(rng, 1, 3, 32, 32))
    torch_export(model, (x,), path, opset, ["image"], ["probs", "features"])
    samples = [(randn(rng, 1, 3, 32, 32),) for _ in range(NUM_SAMPLES)]
    note = "same weights at every opset"
    if opset < 9:
        note += "; Upsample given by output size (torch 1.13 cannot export scale_factor below opset 9)"
    return ["image"], samples, ["Conv", "Upsample" if opset < 11 else "Resize"], note


def make_small_cnn(opset):
    return lambda path, rng: export_small_cnn(opset, path, rng)


def export_paddle_like(path, rng):
    """Converter-style graph: every weight is a Constant node output (no initializers), Conv is
    followed by an unfolded BatchNormalization, Reshape takes a Constant shape, Gemm has transB=0
    (B stored [K, N]) with alpha/beta != 1, plus a Mul-by-Constant 'scale' and an Unsqueeze with
    the opset-11 axes attribute."""
    r = np.random.default_rng(1234)
    nodes = []

    def const(name, arr):
        nodes.append(helper.make_node("Constant", [], [name], name=name + "_const",
                                      value=numpy_helper.from_array(arr, name)))
        return name

    w = const("conv2d_0.w_0", (r.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32))
    b = const("conv2d_0.b_0", (r.standard_normal(8) * 0.1).astype(np.float32))
    nodes.append(helper.make_node("Conv", ["x", w, b], ["conv2d_0.tmp_1"], name="conv2d_0",
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]))
    sc = const("batch_norm_0.w_0", (r.random(8) + 0.5).astype(np.float32))
    bi = const("batch_norm_0.b_0", (r.standard_normal(8) * 0.1).astype(np.float32))
    mu = const("batch_norm_0.w_1", (r.standard_normal(8) * 0.2).astype(np.float32))
    va = const("batch_norm_0.w_2", (r.random(8) + 0.5).astype(np.float32))
    nodes.append(helper.make_node("BatchNormalization", ["conv2d_0.tmp_1", sc, bi, mu, va],
                                  ["batch_norm_0.tmp_2"], name="batch_norm_0", epsilon=1e-5, momentum=0.9))
    nodes.append(helper.make_node("Relu", ["batch_norm_0.tmp_2"], ["relu_0.tmp_0"], name="relu_0"))
    s = const("scale_0.s", np.array(0.75, dtype=np.float32))
    nodes.append(helper.make_node("Mul", ["relu_0.tmp_0", s], ["scale_0.tmp_0"], name="scale_0"))
    shp = const("reshape2_0.shape", np.array([1, -1], dtype=np.int64))
    nodes.append(helper.make_node("Reshape", ["scale_0.tmp_0", shp], ["reshape2_0.tmp_0"], name="reshape2_0"))
    k = 8 * 8 * 8
    gw = const("fc_0.w_0", (r.standard_normal((k, 10)) * 0.05).astype(np.float32))  # [K, N]
    gb = const("fc_0.b_0", (r.standard_normal(10) * 0.1).astype(np.float32))
    nodes.append(helper.make_node("Gemm", ["reshape2_0.tmp_0", gw, gb], ["fc_0.tmp_1"], name="fc_0",
                                  transA=0, transB=0, alpha=0.5, beta=2.0))
    nodes.append(helper.make_node("Softmax", ["fc_0.tmp_1"], ["softmax_0.tmp_0"], name="softmax_0", axis=1))
    nodes.append(helper.make_node("Unsqueeze", ["softmax_0.tmp_0"], ["save_infer_model/scale_0.tmp_0"],
                                  name="unsqueeze_0", axes=[1]))
    graph = helper.make_graph(
        nodes, "paddle_like",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("save_infer_model/scale_0.tmp_0", TensorProto.FLOAT, [1, 1, 10])])
    model = helper.make_model(graph, producer_name="paddle_like_builder",
                              opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.save(model, path)
    samples = [(randn(rng, 1, 3, 16, 16),) for _ in range(NUM_SAMPLES)]
    return ["x"], samples, ["BatchNormalization", "Constant", "Gemm"], \
        "Constant-node weights, unfolded BN, output name with '/' (saved as save_infer_model_scale_0.tmp_0.npy)"


MODELS = {
    "resnet18": export_resnet18,
    "mobilenet_v2": export_mobilenet_v2,
    "transformer_encoder": export_transformer_encoder,
    "lstm": export_lstm,
    "gru": export_gru,
    "if_branch": export_if_branch,
    "loop": export_loop,
    "multi_input": export_multi_input,
    "small_cnn_opset7": make_small_cnn(7),
    "small_cnn_opset9": make_small_cnn(9),
    "small_cnn_opset11": make_small_cnn(11),
    "paddle_like": export_paddle_like,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="export only these models")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    a = ap.parse_args()
    if a.list:
        print("\n".join(MODELS))
        return 0
    if not a.outdir:
        ap.error("OUTDIR is required")
    names = a.only or list(MODELS)
    bad = [n for n in names if n not in MODELS]
    if bad:
        ap.error(f"unknown model(s) {bad}; known: {', '.join(MODELS)}")
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    os.makedirs(a.outdir, exist_ok=True)
    manifest_path = os.path.join(a.outdir, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    failed = []
    for name in names:
        t0 = time.time()
        mdir = os.path.join(a.outdir, name)
        os.makedirs(mdir, exist_ok=True)
        path = os.path.join(mdir, "model.onnx")
        rng = seed_all(0)
        try:
            input_names, samples, require_ops, note = MODELS[name](path, rng)
            info = check_and_describe(path, require_ops)
            if [i["name"] for i in info["inputs"]] != input_names:
                raise RuntimeError(f"graph inputs {[i['name'] for i in info['inputs']]} != {input_names}")
            save_samples(mdir, input_names, samples)
        except Exception as e:  # report and go on with the other models
            failed.append(name)
            manifest.pop(name, None)
            print(f"FAILED {name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
            continue
        info["note"] = note
        manifest[name] = info
        print(f"{name:22s} opset {info['opset']:>2}  {info['size_bytes'] / 1e6:7.2f} MB  "
              f"{time.time() - t0:5.1f} s  ops: {' '.join(info['ops'])}")
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    if failed:
        print(f"export failed for: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
