//! Regions of the source image that rules look at: an axis-aligned rectangle or a polygon,
//! in source pixels.

use crate::postprocess::BoxXyxy;
use serde::{Deserialize, Serialize};

/// A region in source pixels. YAML: `rect: {x1: 0, y1: 0, x2: 640, y2: 360}` or
/// `polygon: [[0, 0], [640, 0], [320, 360]]`.
///
/// Serialised through `RegionRepr`, a plain mapping: serde's externally tagged enums become
/// YAML tags (`!rect`) in serde_yaml, which JSON cannot hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RegionRepr", into = "RegionRepr")]
pub enum Region {
    Rect(BoxXyxy),
    /// Vertices in order (either winding); at least three. Edges must not cross each other
    /// (a self-intersecting polygon has no single inside).
    Polygon(Vec<[f64; 2]>),
}

/// A region as written: exactly one of the two keys.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rect: Option<BoxXyxy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    polygon: Option<Vec<[f64; 2]>>,
}

impl TryFrom<RegionRepr> for Region {
    type Error = &'static str;

    fn try_from(r: RegionRepr) -> Result<Self, Self::Error> {
        match (r.rect, r.polygon) {
            (Some(rect), None) => Ok(Region::Rect(rect)),
            (None, Some(points)) => Ok(Region::Polygon(points)),
            _ => Err("a region needs exactly one of `rect`, `polygon`"),
        }
    }
}

impl From<Region> for RegionRepr {
    fn from(r: Region) -> Self {
        match r {
            Region::Rect(rect) => RegionRepr { rect: Some(rect), polygon: None },
            Region::Polygon(points) => RegionRepr { rect: None, polygon: Some(points) },
        }
    }
}

impl Region {
    /// Whether a point lies inside. A rectangle includes its edges; for a polygon, the
    /// crossing-number test with half-open edges decides points on an edge consistently
    /// (each boundary point belongs to exactly one of two polygons that share the edge).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            Region::Rect(r) => x >= r.x1 && x <= r.x2 && y >= r.y1 && y <= r.y2,
            Region::Polygon(points) => polygon_contains(points, x, y),
        }
    }

    /// The area of `b` that lies inside the region.
    pub fn overlap_area(&self, b: &BoxXyxy) -> f64 {
        match self {
            Region::Rect(r) => r.intersection(b).area(),
            Region::Polygon(points) => polygon_area(&clip_polygon_to_box(points, b)),
        }
    }

    /// The fraction of `b`'s area inside the region, in [0, 1]; 0 for an empty box.
    pub fn overlap_fraction(&self, b: &BoxXyxy) -> f64 {
        let area = b.area();
        if area > 0.0 {
            (self.overlap_area(b) / area).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Crossing number (W. R. Franklin's PNPOLY): a ray to +x crosses the boundary an odd number of
/// times from inside.
fn polygon_contains(points: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut prev = match points.last() {
        Some(p) => *p,
        None => return false,
    };
    for &p in points {
        let ([xi, yi], [xj, yj]) = (p, prev);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        prev = p;
    }
    inside
}

/// Shoelace formula, absolute value (either winding).
pub(crate) fn polygon_area(points: &[[f64; 2]]) -> f64 {
    let Some(&last) = points.last() else { return 0.0 };
    let mut prev = last;
    let mut twice = 0.0;
    for &p in points {
        twice += prev[0] * p[1] - p[0] * prev[1];
        prev = p;
    }
    (twice / 2.0).abs()
}

/// Sutherland–Hodgman: clips the polygon against each edge of the (convex) box in turn. The
/// result's area is exact for any simple polygon, convex or not (a concave subject can leave
/// zero-width slivers along the box edges, which add no area).
fn clip_polygon_to_box(points: &[[f64; 2]], b: &BoxXyxy) -> Vec<[f64; 2]> {
    // Each edge as (inside test, intersection of segment p–q with the edge line).
    let x_cut = |p: [f64; 2], q: [f64; 2], x: f64| [x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0])];
    let y_cut = |p: [f64; 2], q: [f64; 2], y: f64| [p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y];
    let mut poly = points.to_vec();
    for edge in 0..4 {
        let inside = |p: [f64; 2]| match edge {
            0 => p[0] >= b.x1,
            1 => p[0] <= b.x2,
            2 => p[1] >= b.y1,
            _ => p[1] <= b.y2,
        };
        let cut = |p: [f64; 2], q: [f64; 2]| match edge {
            0 => x_cut(p, q, b.x1),
            1 => x_cut(p, q, b.x2),
            2 => y_cut(p, q, b.y1),
            _ => y_cut(p, q, b.y2),
        };
        let Some(&last) = poly.last() else { break };
        let mut out = Vec::with_capacity(poly.len() + 4);
        let mut prev = last;
        for &p in &poly {
            match (inside(prev), inside(p)) {
                (true, true) => out.push(p),
                (true, false) => out.push(cut(prev, p)),
                (false, true) => {
                    out.push(cut(prev, p));
                    out.push(p);
                }
                (false, false) => {}
            }
            prev = p;
        }
        poly = out;
    }
    poly
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x1: f64, y1: f64, x2: f64, y2: f64) -> BoxXyxy {
        BoxXyxy { x1, y1, x2, y2 }
    }

    #[test]
    fn rect_contains_its_edges() {
        let r = Region::Rect(bx(0.0, 0.0, 10.0, 10.0));
        assert!(r.contains(0.0, 0.0) && r.contains(10.0, 5.0) && r.contains(5.0, 5.0));
        assert!(!r.contains(10.01, 5.0) && !r.contains(-1.0, 5.0));
    }

    #[test]
    fn concave_polygon_contains() {
        // An L: the square 0..10 with its top-right quarter 5..10 × 5..10 cut out (y down).
        let l = Region::Polygon(vec![[0.0, 0.0], [5.0, 0.0], [5.0, 5.0], [10.0, 5.0], [10.0, 10.0], [0.0, 10.0]]);
        assert!(l.contains(2.0, 2.0));
        assert!(l.contains(7.0, 7.0));
        assert!(!l.contains(7.0, 2.0), "the notch");
        assert!(!l.contains(11.0, 7.0));
    }

    #[test]
    fn polygon_box_overlap_hand_computed() {
        // Triangle (0,0), (10,0), (0,10): area 50. Box 0..10 × 0..10 (100) holds it all → 0.5.
        let tri = Region::Polygon(vec![[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]);
        assert!((tri.overlap_area(&bx(0.0, 0.0, 10.0, 10.0)) - 50.0).abs() < 1e-9);
        assert!((tri.overlap_fraction(&bx(0.0, 0.0, 10.0, 10.0)) - 0.5).abs() < 1e-9);
        // Box 0..5 × 0..5 lies wholly under the hypotenuse x + y = 10 → 25 → fraction 1.
        assert!((tri.overlap_area(&bx(0.0, 0.0, 5.0, 5.0)) - 25.0).abs() < 1e-9);
        // Box 5..10 × 5..10 is wholly above it (only its corner (5,5) touches) → 0.
        assert!(tri.overlap_area(&bx(5.0, 5.0, 10.0, 10.0)).abs() < 1e-9);
        // Box 4..8 × 0..2: the triangle's part is x ≤ 10 − y; for y in 0..2 the cut is at
        // x = 10 − y ≥ 8, so all of it (4 × 2 = 8) is inside.
        assert!((tri.overlap_area(&bx(4.0, 0.0, 8.0, 2.0)) - 8.0).abs() < 1e-9);
        // Box 6..10 × 0..4: inside where y ≤ 10 − x, and 10 − x runs 4 → 0 over x in 6..10, so
        // the area is ∫_6^10 (10 − x) dx = [10x − x²/2]_6^10 = 50 − 42 = 8.
        assert!((tri.overlap_area(&bx(6.0, 0.0, 10.0, 4.0)) - 8.0).abs() < 1e-9);
    }

    #[test]
    fn concave_polygon_overlap() {
        // The L above (area 75); the box 0..10 × 0..10 holds it all; the notch box holds none.
        let l = Region::Polygon(vec![[0.0, 0.0], [5.0, 0.0], [5.0, 5.0], [10.0, 5.0], [10.0, 10.0], [0.0, 10.0]]);
        assert!((l.overlap_area(&bx(0.0, 0.0, 10.0, 10.0)) - 75.0).abs() < 1e-9);
        assert!(l.overlap_area(&bx(6.0, 1.0, 9.0, 4.0)).abs() < 1e-9);
        // Box 3..7 × 3..7 (16): the notch takes 5..7 × 3..5 (4) → 12.
        assert!((l.overlap_area(&bx(3.0, 3.0, 7.0, 7.0)) - 12.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let empty = Region::Polygon(vec![]);
        assert!(!empty.contains(0.0, 0.0));
        assert_eq!(empty.overlap_area(&bx(0.0, 0.0, 1.0, 1.0)), 0.0);
        let line = Region::Polygon(vec![[0.0, 0.0], [10.0, 10.0]]);
        assert_eq!(line.overlap_fraction(&bx(0.0, 0.0, 10.0, 10.0)), 0.0);
        let r = Region::Rect(bx(0.0, 0.0, 1.0, 1.0));
        assert_eq!(r.overlap_fraction(&bx(0.5, 0.5, 0.5, 0.5)), 0.0, "empty box");
        let nan = Region::Polygon(vec![[f64::NAN, 0.0], [1.0, 0.0], [0.0, 1.0]]);
        let _ = nan.contains(0.2, 0.2);
        let _ = nan.overlap_fraction(&bx(0.0, 0.0, 1.0, 1.0));
    }
}
