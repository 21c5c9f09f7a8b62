//! Correlation between the rows of a matrix (Pearson, over the columns): for prompt tokens
//! `P~` (m x D) the m x m map of how alike the tokens are. VPT's tokens, pushed by the same
//! bursty gradients, come out correlated; BPT's, learned through the whitening, do not.
//!
//! [`row_correlation`] runs as burn tensor ops on the tensor's device (the GPU in the page);
//! [`row_correlation_cpu`] is its plain-Rust twin. A row with no spread (all values equal) has
//! correlation 0 with every row, itself included, rather than NaN.

use burn::tensor::Tensor;

/// Rows whose centred norm is at most this are treated as constant.
const FLAT: f32 = 1e-12;

/// The correlation of every pair of rows.
///
/// # Shapes
/// - values: [rows, cols] -> [rows, rows]
pub fn row_correlation(values: Tensor<2>) -> Tensor<2> {
    let centred = values.clone() - values.mean_dim(1);
    let norm = centred.clone().powi_scalar(2).sum_dim(1).sqrt();
    // 1 / norm where the row varies, 0 where it is flat.
    let inverse = norm
        .clone()
        .recip()
        .mask_fill(norm.lower_equal_elem(FLAT), 0.0);
    let unit = centred * inverse;
    unit.clone().matmul(unit.transpose())
}

/// [`row_correlation`] on the CPU, row-major in and out, in f64 internally.
pub fn row_correlation_cpu(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(values.len(), rows * cols, "values must be rows x cols");
    let unit: Vec<Vec<f64>> = values
        .chunks(cols.max(1))
        .take(rows)
        .map(|row| {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols.max(1) as f64;
            let centred: Vec<f64> = row.iter().map(|&v| v as f64 - mean).collect();
            let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
            let scale = if norm <= FLAT as f64 { 0.0 } else { 1.0 / norm };
            centred.iter().map(|v| v * scale).collect()
        })
        .collect();
    let mut out = vec![0.0; rows * rows];
    for i in 0..rows {
        for j in 0..rows {
            let dot: f64 = unit[i].iter().zip(&unit[j]).map(|(a, b)| a * b).sum();
            out[i * rows + j] = dot as f32;
        }
    }
    out
}

/// The mean absolute correlation between distinct rows of a `rows` x `rows` map: 0 for
/// uncorrelated tokens, 1 when they all lie on one line. None for fewer than two rows.
pub fn mean_abs_off_diagonal(map: &[f32], rows: usize) -> Option<f64> {
    if rows < 2 {
        return None;
    }
    let mut sum = 0.0;
    for i in 0..rows {
        for j in 0..rows {
            if i != j {
                sum += map[i * rows + j].abs() as f64;
            }
        }
    }
    Some(sum / (rows * (rows - 1)) as f64)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::rng::Rng;

    fn on_device(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let device = Device::flex();
        let t = Tensor::<2>::from_data(TensorData::new(values.to_vec(), [rows, cols]), &device);
        row_correlation(t)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 values")
    }

    #[test]
    fn tensor_ops_match_the_cpu_twin_on_random_rows() {
        let (rows, cols) = (7, 50);
        let mut rng = Rng::new(3);
        // Rows that share a common component, so the map is far from the identity.
        let common: Vec<f64> = (0..cols).map(|_| rng.normal()).collect();
        let values: Vec<f32> = (0..rows * cols)
            .map(|k| (common[k % cols] * (k / cols) as f64 * 0.3 + rng.laplace(1.0)) as f32)
            .collect();
        let gpu = on_device(&values, rows, cols);
        let cpu = row_correlation_cpu(&values, rows, cols);
        let worst = gpu
            .iter()
            .zip(&cpu)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "tensor ops vs twin: {worst}");
        assert!(mean_abs_off_diagonal(&cpu, rows).unwrap() > 0.2);
    }

    #[test]
    fn known_maps() {
        // Row 1 = 2 x row 0 + 5 (correlation 1), row 2 = -row 0 (-1), row 3 flat (0).
        let a = [1.0f32, 2.0, 4.0, 8.0];
        let values: Vec<f32> = a
            .iter()
            .copied()
            .chain(a.iter().map(|v| 2.0 * v + 5.0))
            .chain(a.iter().map(|v| -v))
            .chain([3.0; 4])
            .collect();
        for map in [row_correlation_cpu(&values, 4, 4), on_device(&values, 4, 4)] {
            let at = |i: usize, j: usize| map[i * 4 + j];
            assert!((at(0, 0) - 1.0).abs() < 1e-6);
            assert!((at(0, 1) - 1.0).abs() < 1e-6);
            assert!((at(1, 2) + 1.0).abs() < 1e-6);
            assert_eq!(at(3, 0), 0.0);
            assert_eq!(at(3, 3), 0.0);
            assert!(map.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn off_diagonal_mean() {
        let map = [1.0f32, -0.5, -0.5, 1.0];
        assert_eq!(mean_abs_off_diagonal(&map, 2), Some(0.5));
        assert_eq!(mean_abs_off_diagonal(&[1.0], 1), None);
    }
}
