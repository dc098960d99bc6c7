"""PyTorch's own post-training quantization of an ONNX CNN, as a reference for onnx-ptq.

    /usr/bin/python3 tools/torch_ptq.py data/fashion_mnist_cnn.onnx --calib data/calib \
        --eval DIR [--engine onednn] [--configs default,minmax-per-channel,minmax-per-tensor]

DIR holds images.npy [N,1,28,28] float32 and labels.npy [N] int64, as written by
tools/make_fashion_mnist_data.py --eval-out DIR.

1. The ONNX graph is rebuilt as a torch nn.Module node by node (OnnxMirror) with the
   ONNX initializers as its parameters, so torch quantizes exactly the float model we
   quantize: the Conv+BN folds the exporter already did, the BatchNormalization nodes
   that survived export, the residual Add. Only the ops of the bundled model are
   supported (Conv, Gemm, BatchNormalization, Relu, MaxPool, AveragePool, Add,
   Flatten); anything else is refused by name.
2. Standard FX graph-mode PTQ: prepare_fx (fuses Conv/Linear/BN + ReLU, inserts
   observers), calibration on the files of --calib in sorted order, ONE SAMPLE PER
   FORWARD like `quantize --calib` (HistogramObserver's result depends on how the data
   is batched), convert_fx, then the real int8 kernels of --engine.
3. Every config is evaluated on DIR: top-1 vs labels, top-1 agreement with the float
   mirror and SQNR = 10 log10(sum f^2 / sum (f - q)^2) over all output elements, the
   same definition as onnx-ptq's report.

Configs (activations are always quint8 affine without reduce_range, weights qint8 symmetric):
  default             get_default_qconfig_mapping(engine): for onednn per-channel weights
                      (PerChannelMinMaxObserver) + HistogramObserver activations
  minmax-per-channel  per-channel MinMax weights + MinMaxObserver activations
  minmax-per-tensor   per-tensor MinMax weights + MinMaxObserver activations
  histogram-per-tensor per-tensor MinMax weights + HistogramObserver activations

Float check: --check-outputs OURDIR compares the float mirror with `quantize run MODEL
--inputs D --save-outputs OURDIR`, where D holds one batch file F (e.g. images.npy): row i
of F is sample "F[i]", saved as OURDIR/F_i_/<output>.npy ('/', ':', '[', ']' -> '_').
--save-float-outputs DIR writes the mirror's outputs in that layout, for
tools/ort/compare.js --expected DIR (ONNX Runtime vs the mirror). Both use the first
--check-n rows of --check-inputs (default: DIR/images.npy).

--layers adds, per config, the accumulated SQNR of every activation the quantized model
exposes (fused Conv/Linear/BN+ReLU outputs are the ONNX Relu outputs), comparable with the
"accumulated_sqnr_db" of onnx-ptq's report evaluated on the same images.

Prints one JSON object per line on stdout ({"kind": "float"|"check"|"config"|"layer", ...});
progress goes to stderr. Exit 1 (before quantizing) when --check-outputs differs by more
than --check-atol, 2 when the model uses something OnnxMirror does not rebuild.
"""
import argparse
import glob
import json
import operator
import os
import re
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
from torch.ao.quantization import (HistogramObserver, MinMaxObserver, QConfig,
                                   default_per_channel_weight_observer,
                                   default_weight_observer,
                                   get_default_qconfig_mapping)
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx


class OnnxError(Exception):
    """The ONNX graph uses something OnnxMirror does not rebuild."""


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _symmetric_pads(node, pads, rank=2):
    """ONNX pads are [begin..., end...]; torch modules only take symmetric padding."""
    pads = list(pads) if pads else [0] * (2 * rank)
    if pads[:rank] != pads[rank:]:
        raise OnnxError("%s: asymmetric pads %s" % (node.name, pads))
    return tuple(pads[:rank])


def _check_attrs(node, a, allowed):
    extra = set(a) - set(allowed)
    if extra:
        raise OnnxError("%s (%s): unsupported attributes %s" % (node.name, node.op_type, sorted(extra)))
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise OnnxError("%s: auto_pad is not supported" % node.name)
    if any(d != 1 for d in a.get("dilations", [])) and node.op_type != "Conv":
        raise OnnxError("%s: dilations are not supported" % node.name)


def _param(t):
    return nn.Parameter(torch.from_numpy(np.array(t, dtype=np.float32)), requires_grad=False)


def _conv(node, a, w, b):
    _check_attrs(node, a, ("kernel_shape", "pads", "strides", "dilations", "group", "auto_pad"))
    if w.ndim != 4:
        raise OnnxError("%s: only 2-D Conv is supported" % node.name)
    group = a.get("group", 1)
    m = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", (1, 1))),
                  padding=_symmetric_pads(node, a.get("pads")), dilation=tuple(a.get("dilations", (1, 1))),
                  groups=group, bias=b is not None)
    m.weight = _param(w)
    if b is not None:
        m.bias = _param(b)
    return m


def _gemm(node, a, w, b):
    _check_attrs(node, a, ("alpha", "beta", "transA", "transB"))
    if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or (b is not None and a.get("beta", 1.0) != 1.0):
        raise OnnxError("%s: Gemm needs transA=0, alpha=1, beta=1 to map to nn.Linear" % node.name)
    if not a.get("transB", 0):
        w = w.T  # nn.Linear stores [out, in]
    if b is not None and b.shape != (w.shape[0],):
        raise OnnxError("%s: Gemm bias must be a [%d] vector" % (node.name, w.shape[0]))
    m = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    m.weight = _param(w)
    if b is not None:
        m.bias = _param(b)
    return m


def _batchnorm(node, a, scale, bias, mean, var):
    _check_attrs(node, a, ("epsilon", "momentum", "training_mode"))
    if a.get("training_mode", 0):
        raise OnnxError("%s: training_mode BatchNormalization" % node.name)
    m = nn.BatchNorm2d(scale.shape[0], eps=a.get("epsilon", 1e-5))
    m.weight, m.bias = _param(scale), _param(bias)
    m.running_mean.copy_(torch.from_numpy(np.array(mean, dtype=np.float32)))
    m.running_var.copy_(torch.from_numpy(np.array(var, dtype=np.float32)))
    return m.eval()


def _pool(node, a):
    common = ("kernel_shape", "pads", "strides", "ceil_mode", "auto_pad")
    k = tuple(a["kernel_shape"])
    if len(k) != 2:
        raise OnnxError("%s: only 2-D %s is supported" % (node.name, node.op_type))
    stride = tuple(a.get("strides", (1,) * len(k)))
    pad = _symmetric_pads(node, a.get("pads"), len(k))
    ceil = bool(a.get("ceil_mode", 0))
    if node.op_type == "MaxPool":
        _check_attrs(node, a, common + ("dilations", "storage_order"))
        if len(node.output) > 1 and node.output[1]:
            raise OnnxError("%s: MaxPool indices output" % node.name)
        return nn.MaxPool2d(k, stride, pad, ceil_mode=ceil)
    _check_attrs(node, a, common + ("count_include_pad",))
    return nn.AvgPool2d(k, stride, pad, ceil_mode=ceil, count_include_pad=bool(a.get("count_include_pad", 0)))


class OnnxMirror(nn.Module):
    """The ONNX graph as a torch module; forward() walks the (topologically sorted) nodes.

    Nodes with parameters or state become submodules (named after the ONNX node) so FX
    quantization sees ordinary Conv2d / Linear / BatchNorm2d / ReLU modules and fuses
    them as it would in a hand-written model; Add and Flatten are traced as functions.
    """

    def __init__(self, model):
        super().__init__()
        g = model.graph
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.input_names = [i.name for i in g.input if i.name not in inits]
        self.output_names = [o.name for o in g.output]
        if len(self.input_names) != 1:
            raise OnnxError("expected one graph input, got %s" % self.input_names)
        self.steps = []  # (kind, submodule name or None, input value names, output value name)
        used = set()
        for idx, node in enumerate(g.node):
            if node.domain not in ("", "ai.onnx"):
                raise OnnxError("%s: custom domain %s" % (node.name, node.domain))
            a = _attrs(node)
            consts = [inits.get(n) for n in node.input]
            data = [n for n in node.input if n and n not in inits]
            op = node.op_type
            if op in ("Conv", "Gemm"):
                w = consts[1]
                b = consts[2] if len(consts) > 2 else None
                if w is None or (len(node.input) > 2 and node.input[2] and b is None):
                    raise OnnxError("%s: %s weight/bias must be initializers" % (node.name, op))
                mod = (_conv if op == "Conv" else _gemm)(node, a, w, b)
            elif op == "BatchNormalization":
                if any(c is None for c in consts[1:5]) or len(node.output) > 1:
                    raise OnnxError("%s: BatchNormalization needs constant parameters, one output" % node.name)
                mod = _batchnorm(node, a, *consts[1:5])
            elif op in ("MaxPool", "AveragePool"):
                mod = _pool(node, a)
            elif op == "Relu":
                mod = nn.ReLU()
            elif op == "Add":
                if len(data) != 2:
                    raise OnnxError("%s: Add of a constant is not supported" % node.name)
                mod = None
            elif op == "Flatten":
                if a.get("axis", 1) != 1:
                    raise OnnxError("%s: Flatten axis %s (only 1)" % (node.name, a.get("axis")))
                mod = None
            else:
                raise OnnxError("%s: op %s is not supported by OnnxMirror" % (node.name, op))
            if op in ("Conv", "Gemm", "BatchNormalization") and len(data) != 1:
                raise OnnxError("%s: expected one non-constant input" % node.name)
            name = None
            if mod is not None:
                # ONNX names like "/stem/stem.0/Conv" are not valid attribute names.
                name = re.sub(r"\W", "_", node.name or "%s_%d" % (op, idx)).strip("_") or "node"
                base, k = name, 1
                while name in used:
                    name, k = "%s_%d" % (base, k), k + 1
                used.add(name)
                self.add_module(name, mod)
            self.steps.append((op, name, data, node.output[0]))

    def values(self, x):
        """Every ONNX value name -> its tensor (forward() without dropping intermediates)."""
        env = {self.input_names[0]: x}
        for op, name, inputs, output in self.steps:
            args = [env[i] for i in inputs]
            if op == "Add":
                env[output] = operator.add(args[0], args[1])
            elif op == "Flatten":
                env[output] = torch.flatten(args[0], 1)
            else:
                env[output] = getattr(self, name)(args[0])
        return env

    def forward(self, x):
        env = self.values(x)
        outs = [env[o] for o in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)


def load_calib(folder):
    """Calibration samples in the order `quantize --calib` reads them: sorted *.npy files,
    a file with several rows along the first axis being that many samples."""
    files = sorted(glob.glob(os.path.join(folder, "*.npy")))
    if not files:
        raise SystemExit("error: no .npy files in %s" % folder)
    samples = []
    for f in files:
        arr = np.load(f).astype(np.float32, copy=False)
        samples.extend(arr[i:i + 1] for i in range(arr.shape[0]))
    return samples


ACT_MINMAX = MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False)
ACT_HIST = HistogramObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False)
CONFIGS = {
    "default": None,
    "minmax-per-channel": QConfig(activation=ACT_MINMAX, weight=default_per_channel_weight_observer),
    "minmax-per-tensor": QConfig(activation=ACT_MINMAX, weight=default_weight_observer),
    "histogram-per-tensor": QConfig(activation=ACT_HIST, weight=default_weight_observer),
}


def qconfig_mapping(engine, config):
    """The engine's default mapping, with its main qconfig swapped for CONFIGS[config] so
    the special entries (reshape reusing its input's qparams, fixed-qparams ops) stay."""
    mapping = get_default_qconfig_mapping(engine)
    qconfig = CONFIGS[config]
    if qconfig is None:
        return mapping
    default = mapping.global_qconfig
    mapping.set_global(qconfig)
    for key, value in list(mapping.object_type_qconfigs.items()):
        if value is default:
            mapping.set_object_type(key, qconfig)
    return mapping


def describe(mapping):
    q = mapping.global_qconfig
    return {"activation_observer": q.activation.p.func.__name__, "weight_observer": q.weight.p.func.__name__,
            "weight_qscheme": str(q.weight.p.keywords.get("qscheme")).replace("torch.", "")}


def quantize(float_model, engine, config, calib):
    mapping = qconfig_mapping(engine, config)
    prepared = prepare_fx(float_model, mapping, example_inputs=(torch.from_numpy(calib[0]),))
    with torch.no_grad():
        for s in calib:
            prepared(torch.from_numpy(s))
    return convert_fx(prepared), describe(mapping)


def run(model, images, batch=1000):
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(images[i:i + batch])).numpy()
                               for i in range(0, len(images), batch)])


def metrics(ref, out, labels):
    ref64, out64 = ref.astype(np.float64), out.astype(np.float64)
    noise = float(((ref64 - out64) ** 2).sum())
    sqnr = float("inf") if noise == 0 else 10 * np.log10(float((ref64 ** 2).sum()) / noise)
    return {"top1": float((out.argmax(1) == labels).mean()), "sqnr_db": sqnr,
            "top1_agreement": float((out.argmax(1) == ref.argmax(1)).mean())}


def layer_sqnr(float_model, qmodel, images, batch=1000):
    """Accumulated SQNR of every activation the quantized model exposes, vs the float
    mirror's value of the same ONNX name (the analogue of onnx-ptq's per-layer
    accumulated_sqnr_db). A fused ConvReLU / LinearReLU / BNReLU module's output is the
    ONNX Relu's output; a module's input covers values made by functions (Add, Flatten)."""
    relu_of = {s[2][0]: s[3] for s in float_model.steps if s[0] == "Relu"}
    step_of = {s[1]: s for s in float_model.steps if s[1]}
    sums = {}  # value name -> [sum f^2, sum (f-q)^2]
    captured = {}

    def keep(value):
        def hook(_module, inputs, output=None):
            t = output if output is not None else inputs[0]
            captured[value] = t.dequantize() if t.is_quantized else t
        return hook

    handles = []
    for name, mod in qmodel.named_modules():
        if name not in step_of:
            continue
        _, _, inputs, out = step_of[name]
        fused_relu = "ReLU" in type(mod).__name__ and out in relu_of
        handles.append(mod.register_forward_hook(keep(relu_of[out] if fused_relu else out)))
        handles.append(mod.register_forward_pre_hook(keep(inputs[0])))
    try:
        with torch.no_grad():
            for i in range(0, len(images), batch):
                x = torch.from_numpy(images[i:i + batch])
                env = float_model.values(x)
                captured.clear()
                qmodel(x)
                for value, q in captured.items():
                    f = env[value].double()
                    acc = sums.setdefault(value, [0.0, 0.0])
                    acc[0] += float((f ** 2).sum())
                    acc[1] += float(((f - q.double()) ** 2).sum())
    finally:
        for h in handles:
            h.remove()
    order = [s[3] for s in float_model.steps]
    return [(v, float("inf") if sums[v][1] == 0 else 10 * np.log10(sums[v][0] / sums[v][1]))
            for v in order if v in sums]


def sample_dir(root, batch_file, i):
    """Where `quantize run` / tools/ort keep row i of a batch file (their safeName)."""
    return os.path.join(root, re.sub(r"[/:\\\[\]]", "_", "%s[%d]" % (batch_file, i)))


def float_check(args, model, out_name):
    images = np.load(args.check_inputs)[:args.check_n]
    ours = run(model, images)
    base = os.path.basename(args.check_inputs)
    if args.save_float_outputs:
        for i in range(len(images)):
            d = sample_dir(args.save_float_outputs, base, i)
            os.makedirs(d, exist_ok=True)
            np.save(os.path.join(d, out_name + ".npy"), ours[i:i + 1])
    if not args.check_outputs:
        return True
    theirs = np.concatenate([np.load(os.path.join(sample_dir(args.check_outputs, base, i), out_name + ".npy"))
                             for i in range(len(images))])
    diff = float(np.abs(theirs.reshape(ours.shape) - ours).max())
    ok = diff <= args.check_atol
    print(json.dumps({"kind": "check", "against": args.check_outputs, "samples": len(images),
                      "max_abs_diff": diff, "atol": args.check_atol, "ok": ok}), flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("model", help="float ONNX model")
    ap.add_argument("--calib", required=True, help="calibration folder of .npy samples")
    ap.add_argument("--eval", required=True, help="folder with images.npy and labels.npy")
    ap.add_argument("--engine", default=None, help="torch quantized engine (default: onednn if supported, else qnnpack)")
    ap.add_argument("--configs", default="default,minmax-per-channel,minmax-per-tensor",
                    help="comma list of: %s" % ", ".join(CONFIGS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-inputs", help="batch .npy for the float check (default: EVAL/images.npy)")
    ap.add_argument("--check-n", type=int, default=1000)
    ap.add_argument("--check-outputs", metavar="OURDIR", help="compare the float mirror with these outputs")
    ap.add_argument("--check-atol", type=float, default=1e-5)
    ap.add_argument("--layers", action="store_true",
                    help="also print every layer's accumulated SQNR on the eval set")
    ap.add_argument("--save-float-outputs", metavar="DIR", help="write the float mirror's outputs (check rows)")
    args = ap.parse_args()

    configs = [c for c in args.configs.split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        ap.error("unknown config(s) %s; choose from %s" % (unknown, ", ".join(CONFIGS)))
    engines = torch.backends.quantized.supported_engines
    engine = args.engine or ("onednn" if "onednn" in engines else "qnnpack")
    if engine not in engines:
        ap.error("engine %s not supported by this torch (%s)" % (engine, engines))
    torch.backends.quantized.engine = engine
    torch.set_num_threads(args.threads)

    try:
        float_model = OnnxMirror(onnx.load(args.model)).eval()
    except OnnxError as e:
        print("error: %s: %s" % (args.model, e), file=sys.stderr)
        return 2
    if len(float_model.output_names) != 1:
        print("error: expected one output, got %s" % float_model.output_names, file=sys.stderr)
        return 2
    out_name = float_model.output_names[0]
    images = np.load(os.path.join(args.eval, "images.npy"))
    labels = np.load(os.path.join(args.eval, "labels.npy")).astype(np.int64)
    calib = load_calib(args.calib)

    args.check_inputs = args.check_inputs or os.path.join(args.eval, "images.npy")
    if not float_check(args, float_model, out_name):
        print("error: the float mirror differs from %s; torch's numbers would not be comparable"
              % args.check_outputs, file=sys.stderr)
        return 1

    ref = run(float_model, images)
    print(json.dumps({"kind": "float", "torch": torch.__version__, "engine": engine, "rows": len(labels),
                      "top1": float((ref.argmax(1) == labels).mean()), "calib_samples": len(calib)}), flush=True)
    for config in configs:
        t0 = time.time()
        qmodel, desc = quantize(float_model, engine, config, calib)
        out = run(qmodel, images)
        row = {"kind": "config", "config": config, "engine": engine}
        row.update(desc)
        row.update(metrics(ref, out, labels))
        row["seconds"] = round(time.time() - t0, 2)
        print(json.dumps(row), flush=True)
        if args.layers:
            for value, sqnr in layer_sqnr(float_model, qmodel, images):
                print(json.dumps({"kind": "layer", "config": config, "value": value, "sqnr_db": sqnr}), flush=True)
        print("%s: top-1 %.2f%%, SQNR %.2f dB" % (config, 100 * row["top1"], row["sqnr_db"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
