//! The settings of each object: the task-wide ones (ACL, storage class,
//! encryption, content encoding), the content type (fixed, or by extension
//! from mime_guess's table, else `application/octet-stream`, without a
//! charset, as the toolkit sent it), and the `Cache-Control` of the first
//! `cacheControl` rule whose pattern matches the file.

use std::path::Path;

use aws_clients::s3::ObjectSettings;

use crate::files::{FileSetError, LocalFile, Patterns};
use crate::inputs::{CacheRule, UploadInputs};

/// The content type of files whose extension says nothing.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Builds the settings of each file.
#[derive(Debug)]
pub struct SettingsFor {
    base: ObjectSettings,
    fixed_type: Option<String>,
    cache: Patterns,
    cache_values: Vec<String>,
}

impl SettingsFor {
    /// From the task's inputs, with cache rules rooted at `root`.
    ///
    /// # Errors
    /// A `cacheControl` pattern that cannot be compiled.
    pub fn new(inputs: &UploadInputs, root: &Path) -> Result<Self, FileSetError> {
        let numbered: Vec<(usize, &str)> = inputs
            .cache_rules
            .iter()
            .map(|r: &CacheRule| (r.line, r.pattern.as_str()))
            .collect();
        Ok(Self {
            base: ObjectSettings {
                content_type: None,
                content_encoding: inputs.content_encoding.clone().filter(|v| !v.is_empty()),
                cache_control: None,
                acl: Some(inputs.acl.clone()),
                storage_class: Some(inputs.storage_class.clone()),
                encryption: inputs.encryption.clone(),
            },
            fixed_type: inputs.content_type.clone().filter(|v| !v.is_empty()),
            cache: Patterns::numbered(&numbered, root, "cacheControl")?,
            cache_values: inputs.cache_rules.iter().map(|r| r.value.clone()).collect(),
        })
    }

    /// The settings of `file`.
    #[must_use]
    pub fn of(&self, file: &LocalFile) -> ObjectSettings {
        let content_type = self.fixed_type.clone().unwrap_or_else(|| {
            mime_guess::from_path(&file.relative)
                .first_raw()
                .unwrap_or(DEFAULT_CONTENT_TYPE)
                .to_owned()
        });
        ObjectSettings {
            content_type: Some(content_type),
            cache_control: self
                .cache
                .first_match(&file.relative)
                .and_then(|i| self.cache_values.get(i).cloned()),
            ..self.base.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension_and_first_matching_cache_rule() {
        let rules = Patterns::numbered(
            &[(1, "**/*.html"), (3, "assets/**")],
            Path::new("/src"),
            "cacheControl",
        )
        .unwrap();
        let s = SettingsFor {
            base: ObjectSettings::default(),
            fixed_type: None,
            cache: rules,
            cache_values: vec!["no-cache".into(), "max-age=31536000".into()],
        };
        let f = |rel: &str| LocalFile {
            path: Path::new("/src").join(rel),
            relative: rel.into(),
            size: 1,
        };
        let html = s.of(&f("index.html"));
        assert_eq!(html.content_type.as_deref(), Some("text/html"));
        assert_eq!(html.cache_control.as_deref(), Some("no-cache"));
        let css = s.of(&f("assets/site.css"));
        assert_eq!(css.content_type.as_deref(), Some("text/css"));
        assert_eq!(css.cache_control.as_deref(), Some("max-age=31536000"));
        assert_eq!(
            s.of(&f("assets/app.wasm")).content_type.as_deref(),
            Some("application/wasm")
        );
        let other = s.of(&f("LICENSE"));
        assert_eq!(other.content_type.as_deref(), Some(DEFAULT_CONTENT_TYPE));
        assert_eq!(other.cache_control, None);
        let fixed = SettingsFor {
            fixed_type: Some("text/plain".into()),
            ..s
        };
        assert_eq!(
            fixed.of(&f("index.html")).content_type.as_deref(),
            Some("text/plain")
        );
    }
}
