//! The report: a table on stdout, `report.md`, and a bar chart of the ratios
//! to tokio as a hand-written `report.svg`.

use std::fmt::Write as _;

use crate::suite::{Finished, Status, Unit};

/// Statistics of one measured row.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    extra_max: Option<f64>,
}

fn stats(status: &Status) -> Option<Stats> {
    let Status::Measured(samples) = status else {
        return None;
    };
    if samples.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = samples.iter().map(|sample| sample.value).collect();
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    let median = if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    };
    let extra_max = samples
        .iter()
        .filter_map(|sample| sample.extra)
        .reduce(f64::max);
    Some(Stats {
        median,
        min: values[0],
        max: values[values.len() - 1],
        extra_max,
    })
}

fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{value:.0} B"),
        Unit::Seconds if value >= 1.0 => format!("{value:.3} s"),
        Unit::Seconds if value >= 0.001 => format!("{:.2} ms", value * 1e3),
        Unit::Seconds => format!("{:.1} µs", value * 1e6),
    }
}

/// One line of the table, ready to print.
struct Line {
    benchmark: String,
    runtime: String,
    median: String,
    min: String,
    max: String,
    ratio: String,
    note: String,
}

/// A bar of the chart.
struct Bar {
    runtime: String,
    ratio: Option<f64>,
    label: String,
}

/// The whole report, computed once and written three ways.
pub struct Report {
    lines: Vec<Line>,
    groups: Vec<(String, Vec<Bar>)>,
    /// Whether any row failed.
    pub failed: bool,
}

/// The name of a reference row that is not a runtime: the workload's own
/// cost with no runtime at all. It is never "fastest".
pub const FLOOR: &str = "floor";

impl Report {
    /// Computes medians, ratios and the fastest runtime of each benchmark.
    pub fn new(results: &[Finished]) -> Report {
        let mut lines = Vec::new();
        let mut groups = Vec::new();
        let mut failed = false;
        for result in results {
            let all_stats: Vec<Option<Stats>> =
                result.rows.iter().map(|row| stats(&row.status)).collect();
            let baseline = result
                .rows
                .iter()
                .zip(&all_stats)
                .find(|(row, _)| row.runtime == result.baseline)
                .and_then(|(_, stats)| stats.as_ref().map(|stats| stats.median));
            let fastest = result
                .rows
                .iter()
                .zip(&all_stats)
                .filter(|(row, _)| row.runtime != FLOOR)
                .filter_map(|(row, stats)| Some((row.runtime.as_str(), stats.as_ref()?.median)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(runtime, _)| runtime.to_string());
            let mut bars = Vec::new();
            for (row, stats) in result.rows.iter().zip(&all_stats) {
                let mut line = Line {
                    benchmark: result.title.clone(),
                    runtime: row.runtime.clone(),
                    median: String::new(),
                    min: String::new(),
                    max: String::new(),
                    ratio: String::new(),
                    note: String::new(),
                };
                let mut bar = Bar {
                    runtime: row.runtime.clone(),
                    ratio: None,
                    label: String::new(),
                };
                match (&row.status, stats) {
                    (_, Some(stats)) => {
                        line.median = format_value(stats.median, result.unit);
                        line.min = format_value(stats.min, result.unit);
                        line.max = format_value(stats.max, result.unit);
                        if let Some(baseline) = baseline {
                            let ratio = stats.median / baseline;
                            line.ratio = format!("{ratio:.2}x");
                            bar.ratio = Some(ratio);
                            bar.label = format!("{ratio:.2}x");
                        }
                        let mut notes = Vec::new();
                        if fastest.as_deref() == Some(row.runtime.as_str()) {
                            notes.push("fastest".to_string());
                        }
                        if row.runtime == FLOOR {
                            notes.push("the workload's futures alone, no runtime".to_string());
                        }
                        if let Some(rate) = result.rate {
                            let per_second = rate.per_run as f64 / stats.median;
                            notes.push(format!("{per_second:.0} {}", rate.label));
                        }
                        if let (Some(label), Some(extra)) = (result.extra, stats.extra_max) {
                            notes.push(format!("{label} {extra:.1} ms"));
                        }
                        line.note = notes.join("; ");
                    }
                    (Status::Failed(why), _) => {
                        failed = true;
                        line.note = format!("FAILED: {why}");
                        bar.label = "FAILED".to_string();
                    }
                    (Status::Unavailable(why), _) => {
                        line.note = format!("{}: not available yet ({why})", row.runtime);
                        bar.label = "not available yet".to_string();
                    }
                    (Status::Skipped(why), _) => {
                        line.note = format!("skipped: {why}");
                        bar.label = "skipped".to_string();
                    }
                    (Status::Measured(_), None) => {
                        line.note = "no run".to_string();
                        bar.label = "no run".to_string();
                    }
                }
                lines.push(line);
                bars.push(bar);
            }
            groups.push((result.title.clone(), bars));
        }
        Report {
            lines,
            groups,
            failed,
        }
    }

    /// The table as Markdown (also what is printed on stdout).
    pub fn table(&self) -> String {
        let header = [
            "benchmark",
            "runtime",
            "median",
            "min",
            "max",
            "vs tokio",
            "note",
        ];
        let cells: Vec<[&str; 7]> = self
            .lines
            .iter()
            .map(|line| {
                [
                    line.benchmark.as_str(),
                    line.runtime.as_str(),
                    line.median.as_str(),
                    line.min.as_str(),
                    line.max.as_str(),
                    line.ratio.as_str(),
                    line.note.as_str(),
                ]
            })
            .collect();
        let mut widths = header.map(|title| title.chars().count());
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut write_row = |row: &[&str; 7]| {
            out.push('|');
            for (cell, width) in row.iter().zip(widths) {
                let pad = width - cell.chars().count();
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            }
            out.push('\n');
        };
        write_row(&header);
        let rule = widths.map(|width| "-".repeat(width));
        write_row(&[
            &rule[0], &rule[1], &rule[2], &rule[3], &rule[4], &rule[5], &rule[6],
        ]);
        let mut previous = "";
        for row in &cells {
            // The benchmark's name only on its first row keeps the table light.
            let mut row = *row;
            if row[0] == previous {
                row[0] = "";
            } else {
                previous = row[0];
            }
            write_row(&row);
        }
        out
    }

    /// A horizontal bar chart of each runtime's ratio to tokio, log scale.
    pub fn svg(&self, subtitle: &str) -> String {
        const WIDTH: f64 = 960.0;
        const LEFT: f64 = 110.0;
        const RIGHT: f64 = 830.0;
        const ROW: f64 = 20.0;
        const GROUP_GAP: f64 = 26.0;
        const TOP: f64 = 78.0;
        let ratios = self
            .groups
            .iter()
            .flat_map(|(_, bars)| bars.iter().filter_map(|bar| bar.ratio));
        let (low, high) = ratios.fold((0.5f64, 2.0f64), |(low, high), ratio| {
            (low.min(ratio), high.max(ratio))
        });
        let low_exp = low.log2().floor() as i32;
        let high_exp = high.log2().ceil() as i32;
        let x = |ratio: f64| {
            let exp = ratio.log2().clamp(low_exp as f64, high_exp as f64);
            LEFT + (exp - low_exp as f64) / (high_exp - low_exp) as f64 * (RIGHT - LEFT)
        };
        let rows: usize = self.groups.iter().map(|(_, bars)| bars.len()).sum();
        let height = TOP + rows as f64 * ROW + self.groups.len() as f64 * GROUP_GAP + 40.0;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"##
        );
        let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="white"/>"##);
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="22" font-size="16" font-weight="bold">corio benchmarks: median relative to tokio (log scale, left of 1 = faster or smaller)</text>"##
        );
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="40" fill="#555">{}</text>"##,
            escape(subtitle)
        );
        let plot_bottom = height - 30.0;
        for exp in low_exp..=high_exp {
            let ratio = 2f64.powi(exp);
            let gx = x(ratio);
            let (stroke, width) = if exp == 0 {
                ("#222", 1.5)
            } else {
                ("#ddd", 1.0)
            };
            let _ = writeln!(
                svg,
                r##"<line x1="{gx:.1}" y1="{:.1}" x2="{gx:.1}" y2="{plot_bottom:.1}" stroke="{stroke}" stroke-width="{width}"/>"##,
                TOP - 14.0
            );
            let label = if exp >= 0 {
                format!("{}x", 2f64.powi(exp))
            } else {
                format!("1/{}", 2f64.powi(-exp))
            };
            for ty in [TOP - 18.0, plot_bottom + 14.0] {
                let _ = writeln!(
                    svg,
                    r##"<text x="{gx:.1}" y="{ty:.1}" text-anchor="middle" fill="#555">{label}</text>"##
                );
            }
        }
        let mut y = TOP;
        for (title, bars) in &self.groups {
            y += GROUP_GAP;
            let _ = writeln!(
                svg,
                r##"<text x="8" y="{:.1}" font-weight="bold">{}</text>"##,
                y - 6.0,
                escape(title)
            );
            for bar in bars {
                let ty = y + ROW * 0.7;
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{ty:.1}" text-anchor="end">{}</text>"##,
                    LEFT - 8.0,
                    escape(&bar.runtime)
                );
                match bar.ratio {
                    Some(ratio) => {
                        let (x0, x1) = (x(1.0), x(ratio));
                        let (start, end) = (x0.min(x1), x0.max(x1).max(x0.min(x1) + 1.0));
                        let _ = writeln!(
                            svg,
                            r##"<rect x="{start:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"##,
                            y + 3.0,
                            end - start,
                            ROW - 6.0,
                            colour(&bar.runtime)
                        );
                        let _ = writeln!(
                            svg,
                            r##"<text x="{:.1}" y="{ty:.1}">{}</text>"##,
                            end + 5.0,
                            escape(&bar.label)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            svg,
                            r##"<text x="{:.1}" y="{ty:.1}" fill="#999" font-style="italic">{}</text>"##,
                            x(1.0) + 5.0,
                            escape(&bar.label)
                        );
                    }
                }
                y += ROW;
            }
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn colour(runtime: &str) -> &'static str {
    match runtime {
        "corio" | "corio-mt" => "#d9480f",
        "tokio" | "tokio-mt" => "#1c7ed6",
        "smol" => "#2f9e44",
        "asyncio" => "#7048e8",
        "uvloop" => "#ae3ec9",
        _ => "#868e96",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Row;
    use crate::workloads::Sample;

    fn measured(values: &[f64]) -> Status {
        Status::Measured(
            values
                .iter()
                .map(|&value| Sample { value, extra: None })
                .collect(),
        )
    }

    fn finished(rows: Vec<Row>) -> Finished {
        Finished {
            title: "spawn".to_string(),
            unit: Unit::Seconds,
            baseline: "tokio",
            extra: None,
            rate: None,
            rows,
        }
    }

    #[test]
    fn ratios_are_medians_over_the_baseline_median() {
        let report = Report::new(&[finished(vec![
            Row {
                runtime: "tokio".to_string(),
                status: measured(&[0.3, 0.1, 0.2]),
            },
            Row {
                runtime: "smol".to_string(),
                status: measured(&[0.1, 0.1, 0.9]),
            },
        ])]);
        let table = report.table();
        assert!(table.contains("| 200.00 ms"), "{table}");
        assert!(table.contains("0.50x"), "{table}");
        let smol = table.lines().find(|line| line.contains("smol")).unwrap();
        assert!(smol.contains("fastest"), "{table}");
        assert!(!report.failed);
    }

    #[test]
    fn a_rate_is_printed_per_second_of_the_median_run() {
        let mut result = finished(vec![Row {
            runtime: "tokio".to_string(),
            status: measured(&[0.5, 0.25, 1.0]),
        }]);
        result.rate = Some(crate::suite::Rate {
            per_run: 1_000,
            label: "req/s",
        });
        let table = Report::new(&[result]).table();
        assert!(table.contains("2000 req/s"), "{table}");
    }

    #[test]
    fn the_floor_row_is_never_the_fastest() {
        let report = Report::new(&[finished(vec![
            Row {
                runtime: "tokio".to_string(),
                status: measured(&[0.3]),
            },
            Row {
                runtime: "smol".to_string(),
                status: measured(&[0.2]),
            },
            Row {
                runtime: FLOOR.to_string(),
                status: measured(&[0.1]),
            },
        ])]);
        let table = report.table();
        let floor = table.lines().find(|line| line.contains(FLOOR)).unwrap();
        assert!(
            !floor.contains("fastest") && floor.contains("no runtime"),
            "{table}"
        );
        let smol = table.lines().find(|line| line.contains("smol")).unwrap();
        assert!(smol.contains("fastest"), "{table}");
    }

    #[test]
    fn failures_and_missing_runtimes_are_said_plainly() {
        let report = Report::new(&[finished(vec![
            Row {
                runtime: "tokio".to_string(),
                status: Status::Failed("sum: got 1, expected 2".to_string()),
            },
            Row {
                runtime: "corio".to_string(),
                status: Status::Unavailable("corio::spawn: not written yet".to_string()),
            },
        ])]);
        let table = report.table();
        assert!(report.failed);
        assert!(table.contains("FAILED: sum: got 1, expected 2"), "{table}");
        assert!(
            table.contains("corio: not available yet (corio::spawn: not written yet)"),
            "{table}"
        );
        let svg = report.svg("test");
        assert!(svg.contains("not available yet") && svg.ends_with("</svg>\n"));
    }
}
