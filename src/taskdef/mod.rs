//! Task definitions: where the template comes from, how it is rendered, how
//! it is compared with registered revisions, and the JSON wire calls.

pub mod api;
pub mod diff;
pub mod model;
pub mod normalize;
pub mod register;
pub mod render;
pub mod template;

pub use normalize::{equivalent, normalize};
pub use render::{ImageToRender, Patches, RenderError, Rendered, render};

#[cfg(test)]
mod tests;
