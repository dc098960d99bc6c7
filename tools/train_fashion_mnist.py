"""Train the bundled Fashion-MNIST example CNN and export it to ONNX.

Deterministic (fixed seeds, 2 CPU threads). Run with Debian's python3-torch:

    /usr/bin/python3 tools/train_fashion_mnist.py

Writes data/fashion_mnist_cnn.onnx and data/fashion_mnist_cnn.json.

Graph notes: during eval-mode export torch fuses a BatchNorm that directly
follows a Conv into that Conv. The residual block below is pre-activation
style (BN -> ReLU -> Conv) and the trunk applies BN after the residual Add,
so those BatchNorms have no Conv producer and survive as
BatchNormalization nodes in the exported graph (useful for exercising the
quantizer's BN handling), while the Conv+BN+ReLU blocks fold to Conv+Relu.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def conv_bn_relu(cin, cout):
    """3x3 Conv + BatchNorm + ReLU (BN folds into the Conv on export)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PreActResidual(nn.Module):
    """x + Conv(ReLU(BN(Conv(ReLU(BN(x))))))."""

    def __init__(self, ch):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(ch)  # input is not a Conv: stays a BN node
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)  # follows conv1: folded on export
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=True)

    def forward(self, x):
        r = self.conv1(F.relu(self.bn1(x)))
        r = self.conv2(F.relu(self.bn2(r)))
        return x + r


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn_relu(1, 16)        # 28x28
        self.pool1 = nn.MaxPool2d(2)           # -> 14x14
        self.block2 = conv_bn_relu(16, 32)     # 14x14
        self.pool2 = nn.MaxPool2d(2)           # -> 7x7
        self.res = PreActResidual(32)          # 7x7, residual Add
        self.post_bn = nn.BatchNorm2d(32)      # after Add: stays a BN node
        self.block3 = conv_bn_relu(32, 64)     # 7x7
        # count_include_pad=False: torch 1.13 otherwise emits a no-op Pad.
        self.pool3 = nn.AvgPool2d(2, count_include_pad=False)  # -> 3x3
        self.fc1 = nn.Linear(64 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool1(self.stem(x))
        x = self.pool2(self.block2(x))
        x = F.relu(self.post_bn(self.res(x)))
        x = self.pool3(self.block3(x))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def evaluate(model, images, labels, batch=1000):
    """Top-1 accuracy of model on float tensors images / int64 labels."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            pred = model(images[i:i + batch]).argmax(1)
            correct += int((pred == labels[i:i + batch]).sum())
    return correct / len(images)


def export(model, path):
    """Export eval-mode model at opset 13 with a dynamic batch axis."""
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, path, opset_version=13,
                      do_constant_folding=True,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    for required in ("Conv", "BatchNormalization", "Relu", "Add", "MaxPool",
                     "AveragePool", "Flatten", "Gemm"):
        if required not in ops:
            raise RuntimeError("exported graph lacks %s: %s" % (required, ops))
    return ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out-dir", default=os.path.join(REPO, "data"))
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    x_train = torch.from_numpy(fashion_mnist.normalize(fashion_mnist.load_images("train")))
    y_train = torch.from_numpy(fashion_mnist.load_labels("train").astype(np.int64))
    x_test = torch.from_numpy(fashion_mnist.normalize(fashion_mnist.load_images("t10k")))
    y_test = torch.from_numpy(fashion_mnist.load_labels("t10k").astype(np.int64))

    model = FashionCNN()
    params = sum(p.numel() for p in model.parameters())
    print("params: %d" % params)

    steps_per_epoch = (len(x_train) + args.batch - 1) // args.batch
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(0)  # shuffling order

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        total = 0.0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        acc = evaluate(model, x_test, y_test)
        print("epoch %d: loss %.4f  test top1 %.4f  (%.0fs)"
              % (epoch + 1, total / len(x_train), acc, time.time() - t0))

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "fashion_mnist_cnn.onnx")
    ops = export(model, onnx_path)
    print("exported %s: %s" % (onnx_path, ops))

    info = {"fp32_top1_torch": round(acc, 4), "params": params, "epochs": args.epochs}
    with open(os.path.join(args.out_dir, "fashion_mnist_cnn.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()
