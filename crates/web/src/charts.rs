//! Charts and the map, drawn as inline SVG on the server: nothing to download, readable
//! without JavaScript, and each chart carries a text alternative (`role="img"`, a label).

use maud::{Markup, html};

/// Colours with enough contrast on white (WCAG 2.1 AA for graphical objects, ≥ 3:1).
pub const PALETTE: [&str; 10] = [
    "#1f5fa8", "#b3361c", "#2b7a3d", "#8a4fa3", "#a86400", "#00707a", "#b0245c", "#5a5a5a",
    "#6b5b00", "#3b3fb0",
];

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

/// Vertical bars with a label under each.
pub fn bars(label: &str, items: &[(String, f64)], unit: &str) -> Markup {
    let (w, h, left, bottom) = (640.0, 200.0, 40.0, 36.0);
    let max = items.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0);
    let step = (w - left) / items.len().max(1) as f64;
    html! {
        svg class="chart" viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(label) {
            title { (label) }
            line x1=(left) y1=(h - bottom) x2=(w) y2=(h - bottom) class="axis" {}
            text x="2" y="14" class="tick" { (fmt(max)) " " (unit) }
            @for (i, (name, value)) in items.iter().enumerate() {
                @let bar_h = (h - bottom - 20.0) * value / max;
                @let x = left + i as f64 * step + step * 0.15;
                rect x=(fmt(x)) y=(fmt(h - bottom - bar_h)) width=(fmt(step * 0.7)) height=(fmt(bar_h)) fill=(PALETTE[0]) {
                    title { (name) " : " (value) " " (unit) }
                }
                text x=(fmt(x + step * 0.35)) y=(fmt(h - bottom + 14.0)) class="tick" text-anchor="middle" { (name) }
                text x=(fmt(x + step * 0.35)) y=(fmt(h - bottom - bar_h - 3.0)) class="tick" text-anchor="middle" { (value) }
            }
        }
    }
}

/// Groups of bars (one group per row label, one bar per series) with a legend.
pub fn grouped_bars(label: &str, groups: &[String], series: &[(String, Vec<f64>)]) -> Markup {
    let (w, h, left, bottom) = (720.0, 260.0, 48.0, 40.0);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1.0);
    let group_w = (w - left) / groups.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;
    html! {
        svg class="chart" viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(label) {
            title { (label) }
            line x1=(left) y1=(h - bottom) x2=(w) y2=(h - bottom) class="axis" {}
            text x="2" y="14" class="tick" { (format!("{max:.2}")) }
            @for (g, name) in groups.iter().enumerate() {
                @for (s, (series_name, values)) in series.iter().enumerate() {
                    @let v = values.get(g).copied().unwrap_or(f64::NAN);
                    @if v.is_finite() {
                        @let bar_h = (h - bottom - 24.0) * v / max;
                        rect x=(fmt(left + g as f64 * group_w + group_w * 0.1 + s as f64 * bar_w))
                            y=(fmt(h - bottom - bar_h)) width=(fmt(bar_w * 0.9)) height=(fmt(bar_h))
                            fill=(PALETTE[s % PALETTE.len()]) {
                            title { (name) ", " (series_name) " : " (format!("{v:.2}")) }
                        }
                    }
                }
                text x=(fmt(left + g as f64 * group_w + group_w / 2.0)) y=(fmt(h - bottom + 14.0)) class="tick" text-anchor="middle" { (name) }
            }
            @for (s, (series_name, _)) in series.iter().enumerate() {
                rect x=(fmt(left + s as f64 * 140.0)) y=(fmt(h - 14.0)) width="10" height="10" fill=(PALETTE[s % PALETTE.len()]) {}
                text x=(fmt(left + s as f64 * 140.0 + 14.0)) y=(fmt(h - 5.0)) class="tick" { (series_name) }
            }
        }
    }
}

/// A time series: points (ms, value), alert marks (ms, value), and a forecast with a band
/// (ms, low, high, centre).
pub fn series(
    label: &str,
    points: &[(i64, f64)],
    marks: &[(i64, f64)],
    forecast: &[(i64, f64, f64, f64)],
) -> Markup {
    let (w, h, left, bottom) = (720.0, 240.0, 48.0, 24.0);
    let times = points
        .iter()
        .map(|p| p.0)
        .chain(forecast.iter().map(|f| f.0));
    let (t0, t1) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let values = points
        .iter()
        .map(|p| p.1)
        .chain(marks.iter().map(|m| m.1))
        .chain(forecast.iter().flat_map(|f| [f.1, f.2, f.3]))
        .filter(|v| v.is_finite());
    let (v0, v1) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if points.is_empty() || t1 <= t0 {
        return html! {};
    }
    let (v0, v1) = (v0.min(0.0), if v1 > v0 { v1 } else { v0 + 1.0 });
    let x = |t: i64| left + (w - left - 8.0) * (t - t0) as f64 / (t1 - t0) as f64;
    let y = |v: f64| 8.0 + (h - bottom - 8.0) * (1.0 - (v - v0) / (v1 - v0));
    let path = |pts: &mut dyn Iterator<Item = (f64, f64)>| -> String {
        let mut d = String::new();
        for (i, (px, py)) in pts.enumerate() {
            d.push_str(if i == 0 { "M" } else { "L" });
            d.push_str(&format!("{px:.1},{py:.1} "));
        }
        d
    };
    let line = path(&mut points.iter().map(|&(t, v)| (x(t), y(v))));
    let centre = path(&mut forecast.iter().map(|&(t, _, _, c)| (x(t), y(c))));
    let band = {
        let upper = forecast.iter().map(|&(t, _, hi, _)| (x(t), y(hi)));
        let lower = forecast.iter().rev().map(|&(t, lo, _, _)| (x(t), y(lo)));
        let mut d = path(&mut upper.chain(lower));
        if !d.is_empty() {
            d.push('Z');
        }
        d
    };
    html! {
        svg class="chart" viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(label) {
            title { (label) }
            line x1=(left) y1=(h - bottom) x2=(w) y2=(h - bottom) class="axis" {}
            text x="2" y="14" class="tick" { (fmt(v1)) }
            text x="2" y=(fmt(h - bottom)) class="tick" { (fmt(v0)) }
            @for (t, label) in day_ticks(t0, t1) {
                line x1=(fmt(x(t))) y1=(fmt(h - bottom)) x2=(fmt(x(t))) y2=(fmt(h - bottom + 4.0)) class="axis" {}
                text x=(fmt(x(t))) y=(fmt(h - 6.0)) class="tick" text-anchor="middle" { (label) }
            }
            @if !band.is_empty() { path d=(band) class="band" {} }
            path d=(line) class="line" {}
            @if !centre.is_empty() { path d=(centre) class="forecast" {} }
            @for &(t, v) in marks {
                circle cx=(fmt(x(t))) cy=(fmt(y(v))) r="5" class="mark" { title { "alerte : " (fmt(v)) } }
            }
        }
    }
}

/// Midnights (UTC) between two instants in ms, labelled "dd/mm".
fn day_ticks(t0: i64, t1: i64) -> Vec<(i64, String)> {
    const DAY: i64 = 86_400_000;
    let mut out = Vec::new();
    let mut t = (t0 / DAY + 1) * DAY;
    while t < t1 && out.len() < 31 {
        if let Ok(at) = time::OffsetDateTime::from_unix_timestamp(t / 1000) {
            out.push((t, format!("{:02}/{:02}", at.day(), u8::from(at.month()))));
        }
        t += DAY;
    }
    out
}

/// A point to draw on the map.
pub struct Dot {
    pub lat: f64,
    pub lon: f64,
    pub colour: &'static str,
    pub href: String,
    pub title: String,
}

/// Paris: the arrondissements' outlines and the dots, in an equirectangular projection scaled
/// by the cosine of Paris's latitude.
pub fn map(label: &str, outlines: &[requests::area::Outline<'_>], dots: &[Dot]) -> Markup {
    let (lon0, lon1, lat0, lat1) = (2.22, 2.475, 48.814, 48.904);
    let k = 48.86f64.to_radians().cos();
    let w = 800.0;
    let h = w * (lat1 - lat0) / ((lon1 - lon0) * k);
    let x = |lon: f64| (lon - lon0) / (lon1 - lon0) * w;
    let y = |lat: f64| (lat1 - lat) / (lat1 - lat0) * h;
    let areas: Vec<(u8, &str, String, f64, f64)> = outlines
        .iter()
        .map(|(n, name, points)| {
            let d: Vec<String> = points
                .iter()
                .map(|&(lon, lat)| format!("{:.1},{:.1}", x(lon), y(lat)))
                .collect();
            let (sx, sy, count) = points
                .iter()
                .fold((0.0, 0.0, 0.0), |(a, b, c), &(lon, lat)| {
                    (a + lon, b + lat, c + 1.0)
                });
            (*n, *name, d.join(" "), x(sx / count), y(sy / count))
        })
        .collect();
    html! {
        svg class="map" viewBox={ "0 0 " (w) " " (fmt(h)) } role="img" aria-label=(label) {
            title { (label) }
            @for (n, name, points, cx, cy) in &areas {
                polygon points=(points) class="area" { title { (n) " — " (name) } }
                text x=(fmt(*cx)) y=(fmt(*cy)) class="area-label" text-anchor="middle" { (n) }
            }
            @for dot in dots {
                a href=(dot.href) {
                    circle cx=(fmt(x(dot.lon))) cy=(fmt(y(dot.lat))) r="5" fill=(dot.colour) class="dot" {
                        title { (dot.title) }
                    }
                }
            }
        }
    }
}
