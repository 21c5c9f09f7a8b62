//! Seeded samples from the distributions the fits tell apart (Gaussian, Laplace, generalised
//! Gaussian; the samplers are on [`Rng`]), for tests, demonstrations and benchmarks.

use crate::rng::Rng;

/// `len` f32 values drawn by `draw` from a generator seeded with `seed`.
pub fn samples(len: usize, seed: u64, mut draw: impl FnMut(&mut Rng) -> f64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| draw(&mut rng) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_and_laplace_samples_have_the_right_spread() {
        let n = 200_000;
        let normal = samples(n, 1, |r| r.normal());
        let var = normal.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n as f64;
        assert!((var - 1.0).abs() < 0.02, "normal variance {var}");
        let laplace = samples(n, 2, |r| r.laplace(0.5));
        let mad = laplace.iter().map(|&x| (x as f64).abs()).sum::<f64>() / n as f64;
        assert!((mad - 0.5).abs() < 0.01, "laplace mean |x| {mad}");
    }
}
