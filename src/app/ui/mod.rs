//! Charts the panels share: line charts with their frame, and histograms with their fits.

pub mod chart;
pub mod hist_chart;
