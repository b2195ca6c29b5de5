//! Image checks on a 2xx body: format, Content-Type agreement, pixel dimensions, aspect ratio
//! and animation, decoded from the bytes by `imageinfo`.

use super::CheckContext;
use super::content_type::essence;
use crate::exchange::RecordedResponse;
use crate::imageinfo::decode_info;
use crate::outcome::Finding;
use crate::suite::model::ImageExpect;
use crate::suite::model::parse_aspect;

pub fn check_image(
    expect: &ImageExpect,
    response: &RecordedResponse,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let info = match decode_info(&response.body) {
        Ok(i) => i,
        Err(e) => {
            findings.push(Finding::new("image", "a decodable image", e.to_string()));
            return;
        }
    };
    let actual_type = info.format.media_type();
    let size = format!("{}x{} {}", info.width, info.height, actual_type);
    // The decoder reports APNG as image/png; a suite allowing image/apng allows that too.
    let allowed =
        |t: &String| t == actual_type || (t == "image/apng" && actual_type == "image/png");
    if !expect.types.is_empty() && !expect.types.iter().any(allowed) {
        findings.push(Finding::new(
            "image type",
            expect.types.join(" or "),
            actual_type,
        ));
    }
    if expect.matches_content_type {
        let ct = essence(response.header("content-type").unwrap_or(""));
        let agrees = ct == actual_type || (ct == "image/apng" && actual_type == "image/png");
        if !agrees {
            findings.push(Finding::new(
                "image type",
                format!("the Content-Type `{ct}`"),
                format!("bytes are {actual_type}"),
            ));
        }
    }
    let mut bound = |label: &str, ok: bool, expected: String| {
        if !ok {
            findings.push(Finding::new(label, expected, size.clone()));
        }
    };
    if let Some(w) = expect.min_width {
        bound(
            "image width",
            info.width >= w,
            format!("at least {w} px wide"),
        );
    }
    if let Some(h) = expect.min_height {
        bound(
            "image height",
            info.height >= h,
            format!("at least {h} px high"),
        );
    }
    if let Some(w) = expect.max_width {
        bound(
            "image width",
            info.width <= w,
            format!("at most {w} px wide (no upscaling)"),
        );
    }
    if let Some(h) = expect.max_height {
        bound(
            "image height",
            info.height <= h,
            format!("at most {h} px high (no upscaling)"),
        );
    }
    if let Some(aspect_text) = &expect.aspect
        && let Some(aspect) = parse_aspect(aspect_text)
        && info.height > 0
    {
        let actual = f64::from(info.width) / f64::from(info.height);
        let tolerance = expect.aspect_tolerance.unwrap_or(0.05);
        if ((actual - aspect) / aspect).abs() > tolerance {
            bound(
                "image aspect",
                false,
                format!("aspect {aspect_text} (±{:.0}%)", tolerance * 100.0),
            );
        }
    }
    if let Some(animated) = expect.animated
        && info.animated != animated
    {
        let frames = info
            .frames
            .map(|f| format!(", {f} frames"))
            .unwrap_or_default();
        findings.push(Finding::new(
            "image animation",
            if animated {
                "an animated image"
            } else {
                "a static image"
            },
            format!(
                "{} {size}{frames}",
                if info.animated { "animated" } else { "static" }
            ),
        ));
    }
    if let Some(media) = &expect.same_size_as
        && let Some(def) = ctx.media.get(media)
        && let Ok(original) = decode_info(&def.bytes)
        && (original.width, original.height) != (info.width, info.height)
    {
        findings.push(Finding::new(
            "image size",
            format!(
                "the original {}x{} of `{media}`",
                original.width, original.height
            ),
            size.clone(),
        ));
    }
}
