//! `image` (with `container-name`) or `images` (`CONTAINER=IMAGE` lines):
//! which images a rendering puts into which containers.

use super::RawInputs;
use super::parse::split_list;
use crate::error::Failure;
use crate::image::ImageRef;

/// One image and the containers that receive it. Without names (`image`
/// without `container-name`), the containers using its repository do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageAssignment {
    pub image: ImageRef,
    pub containers: Vec<String>,
}

/// The images to render, distinct, in the order given: the first is
/// CodePipeline's `IMAGE1_NAME`, the second `IMAGE2_NAME`… Lines of
/// `images` with the same image are one assignment. Empty: neither input
/// was given (a promotion, when the mode allows one).
pub fn parse_images(raw: &RawInputs) -> Result<Vec<ImageAssignment>, Failure> {
    let Some(lines) = raw.get("images") else {
        let Some(image) = raw.get("image") else {
            return Ok(Vec::new());
        };
        let image = ImageRef::parse(image).map_err(|e| Failure::input("image", e.to_string()))?;
        let containers = split_list(raw.get("container-name"));
        return Ok(vec![ImageAssignment { image, containers }]);
    };
    for other in ["image", "container-name"] {
        if raw.get(other).is_some() {
            return Err(Failure::input(
                "images",
                format!(
                    "inputs `images` and `{other}` are both set: `images` names each container and its image (CONTAINER=IMAGE lines); remove `{other}`"
                ),
            ));
        }
    }
    let mut out: Vec<ImageAssignment> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (i, line) in lines.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let (container, image) = line_of(n, line)?;
        if named.contains(&container) {
            return Err(Failure::input(
                "images",
                format!(
                    "input `images` line {n}: container `{container}` is named twice; give each container one image"
                ),
            ));
        }
        named.push(container.clone());
        match out.iter_mut().find(|a| a.image == image) {
            Some(same) => same.containers.push(container),
            None => out.push(ImageAssignment {
                image,
                containers: vec![container],
            }),
        }
    }
    if out.is_empty() {
        return Err(Failure::input(
            "images",
            "input `images` has no CONTAINER=IMAGE line, e.g. `web=web:v1`",
        ));
    }
    Ok(out)
}

fn line_of(n: usize, line: &str) -> Result<(String, ImageRef), Failure> {
    let bad = |why: String| Failure::input("images", format!("input `images` line {n}: {why}"));
    let Some((container, image)) = line.split_once('=') else {
        return Err(bad(format!(
            "expected CONTAINER=IMAGE, e.g. `nginx=nginx-proxy:v3`, got `{}`",
            super::parse::first_chars(line)
        )));
    };
    let (container, image) = (container.trim(), image.trim());
    if !super::parse::is_ecs_name(container) {
        return Err(bad(format!(
            "`{}` is not a container name (letters, digits, hyphens and underscores, up to 255)",
            super::parse::first_chars(container)
        )));
    }
    let image = ImageRef::parse(image).map_err(|e| bad(e.to_string()))?;
    Ok((container.to_string(), image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{ModeSettings, Settings};

    fn parse(pairs: &[(&'static str, &str)]) -> Result<Vec<ImageAssignment>, Failure> {
        parse_images(&pairs.iter().copied().collect())
    }

    fn refused(pairs: &[(&'static str, &str)]) -> String {
        let f = parse(pairs).unwrap_err();
        assert_eq!(f.title, "images", "{}", f.headline);
        f.headline
    }

    #[test]
    fn lines_become_one_assignment_per_distinct_image_in_order() {
        let got = parse(&[(
            "images",
            "# the app and its proxy\nweb = web:v1\n\nnginx=proxy:v3\nworker=web:v1\n",
        )])
        .unwrap();
        let named: Vec<(String, Vec<String>)> = got
            .iter()
            .map(|a| (a.image.to_string(), a.containers.clone()))
            .collect();
        assert_eq!(
            named,
            [
                (
                    "web:v1".to_string(),
                    vec!["web".to_string(), "worker".into()]
                ),
                ("proxy:v3".to_string(), vec!["nginx".to_string()]),
            ]
        );
    }

    #[test]
    fn image_with_container_name_is_one_assignment() {
        let got = parse(&[("image", "web:v1"), ("container-name", "a, b")]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].containers, ["a", "b"]);
        assert!(parse(&[]).unwrap().is_empty(), "neither: a promotion");
    }

    #[test]
    fn bad_lines_are_refused_naming_the_line() {
        let h = refused(&[("images", "web=web:v1\nnginx=proxy:v3\nweb=other:v2")]);
        assert!(
            h.contains("line 3") && h.contains("`web` is named twice"),
            "{h}"
        );
        let h = refused(&[("images", "web:v1")]);
        assert!(h.contains("line 1: expected CONTAINER=IMAGE"), "{h}");
        let h = refused(&[("images", "my web=web:v1")]);
        assert!(h.contains("is not a container name"), "{h}");
        let h = refused(&[("images", "web=Web:v1")]);
        assert!(h.starts_with("input `images` line 1:"), "{h}");
        let h = refused(&[("images", "# only a comment")]);
        assert!(h.contains("no CONTAINER=IMAGE line"), "{h}");
    }

    #[test]
    fn images_is_refused_with_image_or_container_name() {
        for other in ["image", "container-name"] {
            let h = refused(&[("images", "web=web:v1"), (other, "web")]);
            assert!(
                h.contains(&format!("`images` and `{other}` are both set")),
                "{h}"
            );
        }
    }

    #[test]
    fn settings_carry_the_images_and_the_input_that_names_containers() {
        let raw = RawInputs::from_iter([
            ("mode", "deploy"),
            ("service", "web"),
            ("images", "web=web:v1\nnginx=proxy:v3"),
        ]);
        let s = Settings::parse(&raw).unwrap();
        let ModeSettings::Deploy(d) = &s.mode else {
            panic!("deploy")
        };
        assert_eq!(d.rendering.images.len(), 2);
        assert_eq!(d.rendering.images_input, "images");
        assert_eq!(d.rendering.containers_input(), "images");
        assert_eq!(d.rendering.images_given(), "web=web:v1, nginx=proxy:v3");
    }
}
