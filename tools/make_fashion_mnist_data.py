"""Write calibration / evaluation inputs for the bundled Fashion-MNIST model.

    /usr/bin/python3 tools/make_fashion_mnist_data.py
        -> data/calib/sample_000.npy .. sample_199.npy   (default)
    /usr/bin/python3 tools/make_fashion_mnist_data.py --eval-out DIR
        -> DIR/images.npy [10000,1,28,28] float32, DIR/labels.npy [10000] int64
    /usr/bin/python3 tools/make_fashion_mnist_data.py --eval-small DIR --n N
        -> the same for the first N test images

Calibration samples are normalized TRAIN images chosen by a fixed permutation
(numpy RandomState(1)), one [1,1,28,28] float32 file each. When an eval option
is given only the eval files are written, unless --calib is also passed.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALIB_SEED = 1


def write_calib(out_dir, count):
    """Write `count` single-image calibration samples drawn from the train set."""
    images = fashion_mnist.load_images("train")
    order = np.random.RandomState(CALIB_SEED).permutation(len(images))[:count]
    batch = fashion_mnist.normalize(images[order])
    os.makedirs(out_dir, exist_ok=True)
    # Drop stale samples from an earlier run with a larger count.
    for name in os.listdir(out_dir):
        if name.startswith("sample_") and name.endswith(".npy"):
            os.remove(os.path.join(out_dir, name))
    for i in range(count):
        np.save(os.path.join(out_dir, "sample_%03d.npy" % i), batch[i:i + 1])
    print("wrote %d calibration samples to %s" % (count, out_dir))


def write_eval(out_dir, n=None):
    """Write the first n (default: all) test images and labels as one batch."""
    images = fashion_mnist.load_images("t10k")
    labels = fashion_mnist.load_labels("t10k")
    if n is not None:
        images, labels = images[:n], labels[:n]
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "images.npy"), fashion_mnist.normalize(images))
    np.save(os.path.join(out_dir, "labels.npy"), labels.astype(np.int64))
    print("wrote %d test images/labels to %s" % (len(labels), out_dir))


def main():
    ap = argparse.ArgumentParser(
        description="Write Fashion-MNIST calibration / evaluation .npy files.")
    ap.add_argument("--calib", action="store_true",
                    help="write calibration samples (default when no eval option)")
    ap.add_argument("--calib-out", default=os.path.join(REPO, "data", "calib"),
                    help="calibration output directory (default: data/calib)")
    ap.add_argument("--calib-count", type=int, default=200)
    ap.add_argument("--eval-out", metavar="DIR",
                    help="write the full 10k test set to DIR")
    ap.add_argument("--eval-small", metavar="DIR",
                    help="write the first --n test images to DIR")
    ap.add_argument("--n", type=int, default=100,
                    help="number of test images for --eval-small (default 100)")
    args = ap.parse_args()

    if args.n <= 0:
        ap.error("--n must be positive")
    if args.calib or not (args.eval_out or args.eval_small):
        write_calib(args.calib_out, args.calib_count)
    if args.eval_out:
        write_eval(args.eval_out)
    if args.eval_small:
        write_eval(args.eval_small, args.n)


if __name__ == "__main__":
    main()
