//! A line chart as a standalone SVG file: a few named series of (x, y) points on shared axes
//! with tick labels and a legend, for curves a reader would rather look at than read (the
//! training loss). Written by hand: a chart of lines needs no plotting dependency.

use std::fmt::Write;

/// One named curve.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// About five round tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * span {
        out.push(t);
        t += step;
    }
    out
}

fn label(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-2) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The start of a chart: the SVG element, the background and the title.
fn header(svg: &mut String, title: &str) {
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
}

/// Horizontal grid lines with their labels at the round values of `[y0, y1]`, the plot's
/// frame, and the axis labels.
fn axes(svg: &mut String, y0: f64, y1: f64, x_label: &str, y_label: &str) {
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    for t in ticks(y0, y1) {
        let y = TOP + (1.0 - (t - y0) / (y1 - y0)) * ph;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            y + 4.0,
            label(t)
        );
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        HEIGHT - 10.0,
        escape(x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        escape(y_label)
    );
}

/// The legend entry of series `i`, in the plot's top right corner.
fn legend(svg: &mut String, i: usize, name: &str) {
    let color = COLORS[i % COLORS.len()];
    let ly = TOP + 14.0 + 16.0 * i as f64;
    let lx = WIDTH - RIGHT - 150.0;
    let _ = writeln!(
        svg,
        r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
        lx + 20.0,
        lx + 26.0,
        ly + 4.0,
        escape(name)
    );
}

/// The SVG text of a chart titled `title` with axis labels `x_label`, `y_label`.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    (y0, y1) = (y0 - pad, y1 + pad);
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * ph;
    let mut svg = String::new();
    header(&mut svg, title);
    for t in ticks(x0, x1) {
        let x = sx(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 16.0,
            label(t)
        );
    }
    axes(&mut svg, y0, y1, x_label, y_label);
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
            pts.join(" ")
        );
        legend(&mut svg, i, s.name);
    }
    svg.push_str("</svg>\n");
    svg
}

/// One named set of bars: a value and its error (drawn as a whisker) per group, or none.
pub struct Bars<'a> {
    pub name: &'a str,
    pub values: Vec<Option<(f64, f64)>>,
}

/// The SVG text of a grouped bar chart from 0: one cluster per entry of `groups` (labelled
/// under the axis, slanted), one bar per series in each, with ±error whiskers.
pub fn bar_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    groups: &[&str],
    series: &[Bars],
) -> String {
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .map(|&(v, e)| v + e.max(0.0))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let y1 = if top > 0.0 { top * 1.08 } else { 1.0 };
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sy = |y: f64| TOP + (1.0 - y / y1) * ph;
    let mut svg = String::new();
    header(&mut svg, title);
    axes(&mut svg, 0.0, y1, x_label, y_label);
    let cluster = pw / groups.len().max(1) as f64;
    let bar = cluster * 0.8 / series.len().max(1) as f64;
    for (g, name) in groups.iter().enumerate() {
        let gx = LEFT + cluster * g as f64;
        let cx = gx + cluster / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="end" font-size="10" transform="rotate(-30 {cx:.1} {:.1})">{}</text>"#,
            TOP + ph + 12.0,
            TOP + ph + 12.0,
            escape(name)
        );
        for (i, s) in series.iter().enumerate() {
            let Some(&Some((v, e))) = s.values.get(g) else {
                continue;
            };
            if !v.is_finite() {
                continue;
            }
            let x = gx + cluster * 0.1 + bar * i as f64;
            let color = COLORS[i % COLORS.len()];
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"/>"#,
                sy(v.max(0.0)),
                bar * 0.9,
                sy(0.0) - sy(v.max(0.0))
            );
            if e.is_finite() && e > 0.0 {
                let mx = x + bar * 0.45;
                let _ = writeln!(
                    svg,
                    r#"<line x1="{mx:.1}" y1="{:.1}" x2="{mx:.1}" y2="{:.1}" stroke="black"/>"#,
                    sy((v - e).max(0.0)),
                    sy(v + e)
                );
            }
        }
    }
    for (i, s) in series.iter().enumerate() {
        legend(&mut svg, i, s.name);
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(2.31, 2.87);
        assert!(t.len() >= 3 && t[0] >= 2.31 && *t.last().unwrap() <= 2.87);
    }

    #[test]
    fn a_chart_holds_one_polyline_per_series_and_escapes_names() {
        let s = [
            Series {
                name: "train <loss>",
                points: vec![(1.0, 3.0), (2.0, 2.5), (3.0, f64::NAN)],
            },
            Series {
                name: "valid",
                points: vec![(3.0, 2.7)],
            },
        ];
        let svg = line_chart("t", "step", "loss", &s);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("train &lt;loss&gt;") && svg.ends_with("</svg>\n"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn a_bar_chart_holds_one_bar_per_present_value_with_whiskers() {
        let s = [
            Bars {
                name: "dense",
                values: vec![Some((0.5, 0.05)), Some((0.25, 0.0))],
            },
            Bars {
                name: "pruned <50%>",
                values: vec![None, Some((f64::NAN, 0.1))],
            },
        ];
        let svg = bar_chart("t", "category", "acc", &["a", "b & c"], &s);
        // Two bars (plus the background and the frame), one whisker.
        assert_eq!(svg.matches("<rect").count(), 2 + 2);
        assert_eq!(svg.matches("stroke=\"black\"/>").count(), 1 + 1);
        assert!(svg.contains("b &amp; c") && svg.contains("pruned &lt;50%&gt;"));
        assert!(!svg.contains("NaN"));
    }
}
