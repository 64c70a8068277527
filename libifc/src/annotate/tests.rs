use super::*;
use crate::verdict::{RuleHit, Status};

const WHITE: Rgb = [255, 255, 255];
const BLUE: Rgb = [0, 0, 255];

fn blank(w: u32, h: u32) -> Vec<u8> {
    vec![0; (w * h * 3) as usize]
}

/// The set pixels of a canvas, as (x, y).
fn set_pixels(c: &RgbCanvas<'_>) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for y in 0..i64::from(c.height()) {
        for x in 0..i64::from(c.width()) {
            if c.pixel(x, y) != Some([0, 0, 0]) {
                out.push((x, y));
            }
        }
    }
    out
}

#[test]
fn canvas_refuses_a_buffer_of_the_wrong_size() {
    let mut data = vec![0; 10];
    let err = RgbCanvas::new(2, 2, &mut data).err().unwrap();
    assert_eq!(err.to_string(), "annotate: a 2x2 RGB image needs 12 bytes, got 10");
    let err = RgbCanvas::new(u32::MAX, u32::MAX, &mut data).err().unwrap();
    assert!(err.needed.contains("usize::MAX") || err.needed.parse::<u128>().is_ok());
}

#[test]
fn stroke_rect_sets_exactly_the_outline() {
    let mut data = blank(10, 8);
    let mut c = RgbCanvas::new(10, 8, &mut data).unwrap();
    c.stroke_rect(2, 1, 6, 5, 1, WHITE);
    let expected: Vec<(i64, i64)> = (0..8i64)
        .flat_map(|y| (0..10i64).map(move |x| (x, y)))
        .filter(|&(x, y)| (2..=6).contains(&x) && (1..=5).contains(&y) && (x == 2 || x == 6 || y == 1 || y == 5))
        .collect();
    assert_eq!(set_pixels(&c), expected);
    // Thick outlines grow inward: the pixel just outside stays untouched.
    c.stroke_rect(2, 1, 6, 5, 2, BLUE);
    assert_eq!(c.pixel(3, 2), Some(BLUE));
    assert_eq!(c.pixel(4, 3), Some([0, 0, 0]), "the centre of a 5x5 box with 2 px lines is empty");
    assert_eq!(c.pixel(1, 1), Some([0, 0, 0]));
}

#[test]
fn drawing_outside_the_image_is_clipped_not_a_panic() {
    let mut data = blank(4, 4);
    let mut c = RgbCanvas::new(4, 4, &mut data).unwrap();
    c.stroke_rect(-5, -5, 1, 1, 3, WHITE);
    c.stroke_rect(i64::MIN, i64::MIN, i64::MAX - 1, i64::MAX - 1, 2, WHITE);
    c.draw_text(-3, 2, "HELLO", 2, WHITE);
    c.draw_text(i64::MAX - 2, i64::MAX - 2, "X", u32::MAX, WHITE);
    let b = BoxXyxy { x1: f64::NAN, y1: 0.0, x2: 1e300, y2: f64::INFINITY };
    c.draw_labelled_box(&b, "x", WHITE, 1, 1);
    let huge = BoxXyxy { x1: -1e300, y1: -1e300, x2: 1e300, y2: 1e300 };
    c.draw_labelled_box(&huge, "part 0.99", WHITE, 1, 1);
    assert_eq!(c.pixel(0, 0), Some(WHITE));
    assert_eq!(c.pixel(4, 0), None);
}

#[test]
fn glyphs_land_on_exact_pixels() {
    // "1" at (3, 2), scale 1: row 0 is 0b00100 → pixel (5, 2); the base row 6 is 0b01110 →
    // (4..=6, 8).
    let mut data = blank(12, 12);
    let mut c = RgbCanvas::new(12, 12, &mut data).unwrap();
    c.draw_text(3, 2, "1", 1, WHITE);
    let set = set_pixels(&c);
    assert!(set.contains(&(5, 2)) && !set.contains(&(4, 2)) && !set.contains(&(6, 2)));
    for x in 4..=6 {
        assert!(set.contains(&(x, 8)), "base of the 1 at ({x}, 8)");
    }
    let ink = font::glyph('1').iter().map(|r| r.count_ones() as usize).sum::<usize>();
    assert_eq!(set.len(), ink, "one image pixel per font pixel at scale 1");

    // Scale 2 and a second character: "-1" puts the '1' one cell (12 px) right; each font
    // pixel is a 2x2 block. The '-' is row 3, columns 0..5 → x 0..10, y 6..8.
    let mut data = blank(30, 20);
    let mut c = RgbCanvas::new(30, 20, &mut data).unwrap();
    c.draw_text(0, 0, "-1", 2, WHITE);
    for x in 0..10 {
        assert_eq!(c.pixel(x, 6), Some(WHITE));
        assert_eq!(c.pixel(x, 7), Some(WHITE));
        assert_eq!(c.pixel(x, 5), Some([0, 0, 0]));
    }
    assert_eq!(c.pixel(12 + 4, 0), Some(WHITE), "top of the 1: font column 2 at 2x");
    assert_eq!(c.pixel(12 + 5, 1), Some(WHITE));
    assert_eq!(c.pixel(12 + 3, 0), Some([0, 0, 0]));
    assert_eq!(RgbCanvas::text_size("-1", 2), (24, 16));
}

#[test]
fn labelled_box_outlines_the_box_pixels_and_puts_the_tab_above() {
    let mut data = blank(100, 60);
    let mut c = RgbCanvas::new(100, 60, &mut data).unwrap();
    // Box 20.0..40.0 × 30.0..50.0 covers pixels 20..=39 × 30..=49.
    let b = BoxXyxy { x1: 20.0, y1: 30.0, x2: 40.0, y2: 50.0 };
    c.draw_labelled_box(&b, "A", BLUE, 1, 1);
    for (x, y) in [(20, 30), (39, 30), (20, 49), (39, 49), (30, 49), (39, 40)] {
        assert_eq!(c.pixel(x, y), Some(BLUE), "outline at ({x}, {y})");
    }
    for (x, y) in [(40, 40), (30, 50), (19, 40), (30, 40)] {
        assert_eq!(c.pixel(x, y), Some([0, 0, 0]), "nothing at ({x}, {y})");
    }
    // Tab: text 6x8 + 1 px padding each side → x 20..28, y 21..30 (9 rows above the box).
    assert_eq!(c.pixel(20, 21), Some(BLUE));
    assert_eq!(c.pixel(27, 29), Some(BLUE));
    assert_eq!(c.pixel(20, 20), Some([0, 0, 0]));
    // The 'A' is black ink on the tab: its top row 0b01110 at y 22, x 22..=24.
    assert_eq!(c.pixel(22, 22), Some(TEXT_COLOUR));
    assert_eq!(c.pixel(21, 22), Some(BLUE));
}

#[test]
fn annotate_frame_colours_by_fired_rule() {
    let det = |name: &str, x: f64| Detection {
        class_id: 0,
        class_name: name.into(),
        score: 0.9,
        bbox: BoxXyxy { x1: x, y1: 20.0, x2: x + 10.0, y2: 30.0 },
    };
    let dets = [det("part", 5.0), det("scratch", 40.0)];
    let verdict = Verdict {
        status: Status::Ng,
        fired: vec![RuleHit {
            rule_id: "scratch".into(),
            message: String::new(),
            detection_indices: vec![1],
            detail: String::new(),
        }],
    };
    let mut data = blank(80, 40);
    let mut c = RgbCanvas::new(80, 40, &mut data).unwrap();
    annotate_frame(&mut c, &dets, &verdict);
    // Bottom-left corner of each box (the tab is above, so the corner is pure outline).
    assert_eq!(c.pixel(5, 29), Some(OK_COLOUR));
    assert_eq!(c.pixel(40, 29), Some(NG_COLOUR));
    assert_eq!(detection_label(&dets[1]), "scratch 0.90");
}
