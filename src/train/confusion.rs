//! Held-out figures from class probabilities: the confusion matrix, accuracy (overall and per
//! class) and the mean cross-entropy. The training loop's evaluations and `bpt-lab evaluate`
//! both count through it.

use serde::Serialize;

/// Counts of (true class, predicted class) and the summed loss.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Confusion {
    /// `matrix[truth][predicted]`.
    pub matrix: Vec<Vec<usize>>,
    /// Sum over images of -ln p(true class).
    pub loss_sum: f64,
}

impl Confusion {
    pub fn new(classes: usize) -> Self {
        Self {
            matrix: vec![vec![0; classes]; classes],
            loss_sum: 0.0,
        }
    }

    /// Adds the rows of `probs` ([B, classes], row-major) against their labels. The prediction
    /// is the first most probable class; the loss of a zero probability is capped at ln 1e30.
    pub fn add(&mut self, probs: &[f32], labels: &[usize]) {
        let n = self.matrix.len();
        for (row, &label) in probs.chunks(n).zip(labels) {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &p)| if p > b.1 { (i, p) } else { b },
                )
                .0;
            self.matrix[label][best] += 1;
            self.loss_sum -= (row[label].max(1e-30) as f64).ln();
        }
    }

    pub fn total(&self) -> usize {
        self.matrix.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..self.matrix.len()).map(|i| self.matrix[i][i]).sum()
    }

    /// Share of images classified right (0 with none).
    pub fn accuracy(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            t => self.correct() as f64 / t as f64,
        }
    }

    /// Accuracy within each true class; None for a class without images.
    pub fn per_class(&self) -> Vec<Option<f64>> {
        self.matrix
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let n: usize = row.iter().sum();
                (n > 0).then(|| row[i] as f64 / n as f64)
            })
            .collect()
    }

    /// Mean cross-entropy (0 with no images).
    pub fn loss(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            t => self.loss_sum / t as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accuracy_per_class_and_loss_by_hand() {
        let mut c = Confusion::new(3);
        // Three images: class 0 right, class 1 taken for 2, class 2 right.
        c.add(&[0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.0, 0.25, 0.75], &[0, 1, 2]);
        assert_eq!(c.matrix, vec![vec![1, 0, 0], vec![0, 0, 1], vec![0, 0, 1]]);
        assert_eq!((c.correct(), c.total()), (2, 3));
        assert!((c.accuracy() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.per_class(), vec![Some(1.0), Some(0.0), Some(1.0)]);
        let want = -((0.7f32 as f64).ln() + (0.3f32 as f64).ln() + (0.75f32 as f64).ln()) / 3.0;
        assert!((c.loss() - want).abs() < 1e-9);
        assert_eq!(Confusion::new(2).per_class(), vec![None, None]);
    }
}
