"""Shared helpers for the bundled Fashion-MNIST example.

Reads the IDX files shipped by Debian's ``dataset-fashion-mnist`` package and
applies the normalization used by the example model.
"""
import gzip
import os

import numpy as np

# Location of the Debian package's files; override with FASHION_MNIST_DIR.
DATASET_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

# Mean / std of the Fashion-MNIST training set pixels scaled to [0, 1].
MEAN = 0.2860
STD = 0.3530


def _read_idx(path, magic, header_words):
    """Read a gzip'd big-endian IDX file; return (dims, uint8 payload)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = np.frombuffer(data, dtype=">u4", count=header_words)
    if int(header[0]) != magic:
        raise ValueError("%s: bad IDX magic %#x" % (path, int(header[0])))
    payload = np.frombuffer(data, dtype=np.uint8, offset=4 * header_words)
    return [int(d) for d in header[1:]], payload


def load_images(split, root=DATASET_DIR):
    """Return uint8 images of shape [N, 28, 28]; split is 'train' or 't10k'."""
    path = os.path.join(root, "%s-images-idx3-ubyte.gz" % split)
    (n, rows, cols), payload = _read_idx(path, 0x00000803, 4)
    return payload.reshape(n, rows, cols)


def load_labels(split, root=DATASET_DIR):
    """Return uint8 labels of shape [N]; split is 'train' or 't10k'."""
    path = os.path.join(root, "%s-labels-idx1-ubyte.gz" % split)
    (n,), payload = _read_idx(path, 0x00000801, 2)
    return payload.reshape(n)


def normalize(images):
    """uint8 [N, 28, 28] -> float32 NCHW [N, 1, 28, 28], (x/255 - MEAN)/STD."""
    x = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x.reshape(x.shape[0], 1, x.shape[-2], x.shape[-1]).astype(np.float32)
