"""The pretraining script's refusals and its all-or-nothing output, without torch:
python3 -m unittest discover -s scripts/pretrain -p 'test_*.py'"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fashion_mnist_vit import write_atomically  # noqa: E402


class Refusals(unittest.TestCase):
    def run_script(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "fashion_mnist_vit.py"), *args],
                              capture_output=True, text=True)

    def test_a_folder_without_images_is_refused_by_name(self):
        with tempfile.TemporaryDirectory() as empty:
            open(os.path.join(empty, "train-images-idx3-ubyte.gz"), "wb").close()
            out = self.run_script("--mode", "mae", "--epochs", "1", "--data", empty, "--out", f"{empty}/m")
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("holds no Fashion-MNIST images", out.stderr)
            self.assertIn("t10k-labels-idx1-ubyte", out.stderr)
            self.assertNotIn("train-images-idx3-ubyte,", out.stderr, "a file that is there is not named")
            self.assertFalse(os.path.exists(f"{empty}/m"))

    def test_zero_epochs_are_refused(self):
        with tempfile.TemporaryDirectory() as data:
            for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte"]:
                open(os.path.join(data, name), "wb").close()
            out = self.run_script("--mode", "supervised", "--epochs", "0", "--data", data, "--out", f"{data}/m")
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("--epochs must be at least 1", out.stderr)


class Output(unittest.TestCase):
    def test_a_run_stopped_while_writing_leaves_the_previous_output(self):
        with tempfile.TemporaryDirectory() as root:
            out = os.path.join(root, "model")
            os.makedirs(out)
            with open(os.path.join(out, "model.safetensors"), "w") as f:
                f.write("before")

            def stopped(folder):
                with open(os.path.join(folder, "model.safetensors"), "w") as f:
                    f.write("half")
                raise KeyboardInterrupt

            with self.assertRaises(KeyboardInterrupt):
                write_atomically(out, stopped)
            with open(os.path.join(out, "model.safetensors")) as f:
                self.assertEqual(f.read(), "before")
            self.assertEqual(os.listdir(root), ["model"])

    def test_a_finished_run_replaces_the_output_whole(self):
        with tempfile.TemporaryDirectory() as root:
            out = os.path.join(root, "model")
            os.makedirs(out)
            with open(os.path.join(out, "stale.json"), "w") as f:
                f.write("{}")

            def finished(folder):
                with open(os.path.join(folder, "model.safetensors"), "w") as f:
                    f.write("after")

            write_atomically(out, finished)
            self.assertEqual(os.listdir(out), ["model.safetensors"])
            self.assertEqual(os.listdir(root), ["model"])


if __name__ == "__main__":
    unittest.main()
