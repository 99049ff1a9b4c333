//! The files to upload and their keys.
//!
//! Patterns follow task-lib's `match` (azure-pipelines-task-lib
//! `node/internal.ts`, the rules of the "File matching patterns" page),
//! which the AWS Toolkit used: one pattern per line, blank lines and `#`
//! comments skipped, leading `!`s negating (an odd number excludes), every
//! pattern rooted at the source folder, `dot: true` (dot files match),
//! `nobrace: true` (`{` and `}` are literal), case-insensitive on Windows.
//! Patterns apply in order: an include adds what it matches, an exclude
//! removes what it matches from what earlier lines added. Directories are
//! never uploaded. Matching is globset's, walking walkdir's; this module
//! only turns patterns as users write them (doubled or mixed separators, a
//! trailing separator, `.` and `..` segments, absolute paths inside the
//! source folder) into patterns relative to the source folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// Why the file set cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum FileSetError {
    /// The source folder is missing or not a folder.
    #[error(
        "The source folder {path} {problem}. Set sourceFolder to the folder that holds the files, for example \
         $(Build.ArtifactStagingDirectory)."
    )]
    SourceFolder {
        /// The folder as given.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A pattern cannot be used.
    #[error("{input} line {line} ('{pattern}'): {reason}")]
    Pattern {
        /// `globExpressions` or `cacheControl`.
        input: &'static str,
        /// 1-based line.
        line: usize,
        /// The pattern as written.
        pattern: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// A folder or file could not be read while walking.
    #[error(
        "{path} could not be read while listing the source folder: {error}. Fix its permissions, or exclude it with a !pattern line."
    )]
    Walk {
        /// The path.
        path: String,
        /// What went wrong.
        error: String,
    },
    /// A file name is not valid UTF-8, which S3 keys must be.
    #[error(
        "{0} has a name that is not valid UTF-8; S3 keys must be UTF-8. Rename it or exclude it with a !pattern line."
    )]
    NotUtf8(String),
    /// Two files would get the same key.
    #[error(
        "{first} and {second} would both be uploaded as {key} because flattenFolders is set. Rename one, exclude one \
         with a !pattern line, or turn flattenFolders off. Nothing was uploaded."
    )]
    SameKey {
        /// The key.
        key: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
}

/// A file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// The file (through symlinks as found).
    pub path: PathBuf,
    /// Its path relative to the source folder, `/`-separated on every OS.
    pub relative: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A compiled list of patterns, in order: `(include, matcher)`.
#[derive(Debug, Clone)]
pub struct Patterns {
    rules: Vec<(bool, GlobMatcher)>,
}

/// Whether `pattern` is an absolute path on this OS's rules.
fn is_absolute(pattern: &str) -> bool {
    if pattern.starts_with('/') {
        return true;
    }
    let b = pattern.as_bytes();
    cfg!(windows) && b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

fn has_glob(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

/// `root` as a `/`-separated string, for comparing with absolute patterns.
fn slash_path(root: &Path) -> String {
    let s = root.to_string_lossy();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.into_owned()
    }
}

/// One pattern line relative to `root`: `None` for blank lines and
/// comments, else `(include, pattern)`.
fn normalize(line: &str, root: &Path) -> Result<Option<(bool, String)>, String> {
    let mut p = line.trim().to_owned();
    if p.is_empty() || p.starts_with('#') {
        return Ok(None);
    }
    if cfg!(windows) {
        p = p.replace('\\', "/");
    }
    let negations = p.chars().take_while(|c| *c == '!').count();
    let include = negations % 2 == 0;
    p = p[negations..].trim_start().to_owned();
    if p.is_empty() {
        return Err("the pattern is empty after its '!'".into());
    }
    if is_absolute(&p) {
        let root = slash_path(root);
        let root = root.trim_end_matches('/');
        let inside = if cfg!(windows) {
            p.len() > root.len() && p[..root.len()].eq_ignore_ascii_case(root)
        } else {
            p.starts_with(root)
        };
        let rest = if inside { &p[root.len()..] } else { "" };
        if !inside || !(rest.is_empty() || rest.starts_with('/')) {
            return Err(format!(
                "it is an absolute path outside the source folder {root}. Write it relative to the source folder."
            ));
        }
        p = rest.to_owned();
    }
    // A trailing separator names a folder: its files are meant.
    let folder = p.ends_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match segments.last() {
                Some(last) if !has_glob(last) && *last != "**" => {
                    segments.pop();
                }
                _ => {
                    return Err(
                        "its '..' climbs above the source folder or out of a wildcard. Point sourceFolder at a \
                         folder that holds every file instead."
                            .into(),
                    );
                }
            },
            s => segments.push(s),
        }
    }
    if folder && segments.last() != Some(&"**") {
        segments.push("**");
    }
    if segments.is_empty() {
        segments.push("**");
    }
    // nobrace: braces are literal characters.
    let pattern = segments.join("/").replace('{', "[{]").replace('}', "[}]");
    Ok(Some((include, pattern)))
}

impl Patterns {
    /// Compile `lines` (of input `input`, for messages), rooted at `root`.
    ///
    /// # Errors
    /// [`FileSetError::Pattern`] naming the first bad line.
    pub fn new(lines: &[String], root: &Path, input: &'static str) -> Result<Self, FileSetError> {
        let numbered: Vec<(usize, &str)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, l.as_str()))
            .collect();
        Self::numbered(&numbered, root, input)
    }

    /// As [`Patterns::new`], from `(1-based line, pattern)` pairs; blank and
    /// comment lines compile to nothing, so [`Patterns::first_match`] counts
    /// only real patterns.
    ///
    /// # Errors
    /// [`FileSetError::Pattern`] naming the first bad line.
    pub fn numbered(
        lines: &[(usize, &str)],
        root: &Path,
        input: &'static str,
    ) -> Result<Self, FileSetError> {
        let mut rules = Vec::new();
        for &(number, line) in lines {
            let bad = |reason: String| FileSetError::Pattern {
                input,
                line: number,
                pattern: line.trim().to_owned(),
                reason,
            };
            let Some((include, pattern)) = normalize(line, root).map_err(bad)? else {
                continue;
            };
            let glob = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .case_insensitive(cfg!(windows))
                .backslash_escape(!cfg!(windows))
                .build()
                .map_err(|e| bad(format!("it is not a valid pattern: {}", e.kind())))?;
            rules.push((include, glob.compile_matcher()));
        }
        Ok(Self { rules })
    }

    /// Whether the file at `relative` (`/`-separated) is selected.
    #[must_use]
    pub fn is_match(&self, relative: &str) -> bool {
        let mut selected = false;
        for (include, m) in &self.rules {
            if *include != selected && m.is_match(relative) {
                selected = *include;
            }
        }
        selected
    }

    /// The index of the first pattern that matches `relative`, ignoring
    /// negation: for first-match lists such as `cacheControl`.
    #[must_use]
    pub fn first_match(&self, relative: &str) -> Option<usize> {
        self.rules.iter().position(|(_, m)| m.is_match(relative))
    }
}

/// What [`find_files`] found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The selected files, in path order.
    pub files: Vec<LocalFile>,
    /// Symlinks skipped because they lead back into a folder above them.
    pub loops: Vec<String>,
}

/// The source folder as given, made usable: `..` and `.` resolved,
/// doubled and trailing separators dropped, symlinks followed.
///
/// # Errors
/// [`FileSetError::SourceFolder`] when it does not exist or is not a folder.
pub fn source_root(given: &str) -> Result<PathBuf, FileSetError> {
    let bad = |problem: String| FileSetError::SourceFolder {
        path: given.to_owned(),
        problem,
    };
    let cleaned = if cfg!(windows) {
        given.replace('/', "\\")
    } else {
        given.to_owned()
    };
    let path = std::fs::canonicalize(&cleaned).map_err(|e| bad(format!("cannot be used: {e}")))?;
    if !path.is_dir() {
        return Err(bad("is a file, not a folder".into()));
    }
    Ok(strip_verbatim(path))
}

/// `\\?\C:\x` as `C:\x`: canonical paths on Windows are verbatim, which
/// nothing else in a pipeline writes.
fn strip_verbatim(path: PathBuf) -> PathBuf {
    let s = path.to_string_lossy();
    match s.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => PathBuf::from(rest),
        _ => path,
    }
}

/// Walk `root` following symlinks (loops skipped and reported) and keep
/// the files `patterns` select.
///
/// # Errors
/// A folder or file that cannot be read, or a name that is not UTF-8.
pub fn find_files(root: &Path, patterns: &Patterns) -> Result<Found, FileSetError> {
    let mut found = Found::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1);
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.loop_ancestor().is_some() => {
                found.loops.push(
                    e.path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                );
                continue;
            }
            Err(e) => {
                return Err(FileSetError::Walk {
                    path: e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| root.display().to_string()),
                    error: e
                        .io_error()
                        .map_or_else(|| e.to_string(), ToString::to_string),
                });
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let mut parts = Vec::new();
        for c in rel.components() {
            parts.push(
                c.as_os_str()
                    .to_str()
                    .ok_or_else(|| FileSetError::NotUtf8(entry.path().display().to_string()))?,
            );
        }
        let relative = parts.join("/");
        if !patterns.is_match(&relative) {
            continue;
        }
        let size = entry
            .metadata()
            .map_err(|e| FileSetError::Walk {
                path: entry.path().display().to_string(),
                error: e.to_string(),
            })?
            .len();
        found.files.push(LocalFile {
            path: entry.path().to_path_buf(),
            relative,
            size,
        });
    }
    Ok(found)
}

/// The key of a file: its relative path (or, with `flatten`, its name)
/// under `prefix`, joined with exactly one `/`.
#[must_use]
pub fn key_for(prefix: &str, relative: &str, flatten: bool) -> String {
    let name = if flatten {
        relative.rsplit('/').next().unwrap_or(relative)
    } else {
        relative
    };
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The keys of `files`, in order.
///
/// # Errors
/// [`FileSetError::SameKey`] when two files would get one key.
pub fn keys(files: &[LocalFile], prefix: &str, flatten: bool) -> Result<Vec<String>, FileSetError> {
    let mut seen: HashMap<String, &LocalFile> = HashMap::new();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let key = key_for(prefix, &f.relative, flatten);
        if let Some(first) = seen.insert(key.clone(), f) {
            return Err(FileSetError::SameKey {
                key,
                first: first.path.display().to_string(),
                second: f.path.display().to_string(),
            });
        }
        out.push(key);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(lines: &[&str]) -> Patterns {
        Patterns::new(
            &lines.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            Path::new("/src"),
            "globExpressions",
        )
        .unwrap()
    }

    #[test]
    fn task_lib_rules() {
        let p = patterns(&["**", "!**/*.map", "# a comment", "", "!!keep/*.map"]);
        assert!(p.is_match("index.html"));
        assert!(p.is_match(".well-known/security.txt"), "dot files match");
        assert!(!p.is_match("js/app.js.map"), "excluded");
        assert!(p.is_match("keep/a.map"), "!! includes again");
        let star = patterns(&["*"]);
        assert!(star.is_match("a.txt"));
        assert!(!star.is_match("sub/a.txt"), "* does not cross /");
        let braces = patterns(&["{a,b}.txt"]);
        assert!(braces.is_match("{a,b}.txt"), "nobrace: braces are literal");
        assert!(!braces.is_match("a.txt"));
        let later = patterns(&["!*.txt", "*.txt"]);
        assert!(
            later.is_match("a.txt"),
            "an exclude only removes what earlier lines added"
        );
    }

    #[test]
    fn patterns_as_users_write_them() {
        let p = patterns(&["./dist//js/*.js", "dist/css/../img/", "/src/docs/*.md"]);
        assert!(p.is_match("dist/js/app.js"));
        assert!(
            p.is_match("dist/img/deep/logo.png"),
            "a trailing / means the folder's files"
        );
        assert!(!p.is_match("dist/css/site.css"));
        assert!(
            p.is_match("docs/readme.md"),
            "an absolute path inside the source folder"
        );
        let bad = |line: &str| {
            Patterns::new(&[line.to_owned()], Path::new("/src"), "globExpressions")
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad("../other/**").contains("climbs above"),
            "{}",
            bad("../other/**")
        );
        assert!(bad("*/../x").contains("climbs"));
        assert!(bad("/elsewhere/**").contains("outside the source folder /src"));
        assert!(bad("/srcfoo/**").contains("outside"));
        assert!(bad("[z-a]").contains("line 1 ('[z-a]'): it is not a valid pattern"));
        assert!(bad("!").contains("empty after"));
    }

    #[test]
    fn first_match_for_cache_rules() {
        let p = patterns(&["**/*.html", "assets/**", "**"]);
        assert_eq!(p.first_match("index.html"), Some(0));
        assert_eq!(p.first_match("assets/a.html"), Some(0));
        assert_eq!(p.first_match("assets/a.css"), Some(1));
        assert_eq!(p.first_match("robots.txt"), Some(2));
    }

    #[test]
    fn keys_use_one_slash_and_no_leading_slash() {
        assert_eq!(key_for("", "a/b.txt", false), "a/b.txt");
        assert_eq!(key_for("site/v2", "a/b.txt", false), "site/v2/a/b.txt");
        assert_eq!(key_for("site", "a/b.txt", true), "site/b.txt");
        // Windows-form target folders arrive as the same prefix.
        assert_eq!(
            key_for(&crate::inputs::key_prefix("\\site\\v2\\"), "a/b.txt", false),
            "site/v2/a/b.txt"
        );
        let files = |rels: &[&str]| {
            rels.iter()
                .map(|r| LocalFile {
                    path: PathBuf::from("/src").join(r),
                    relative: (*r).to_owned(),
                    size: 1,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&files(&["a/x", "b/y"]), "t", true).unwrap(),
            ["t/x", "t/y"]
        );
        let e = keys(&files(&["a/x", "b/x"]), "t", true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/src/a/x and /src/b/x would both be uploaded as t/x"),
            "{e}"
        );
    }

    #[test]
    fn walking_follows_symlinks_and_survives_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("site/css")).unwrap();
        std::fs::write(root.join("site/index.html"), "<html>").unwrap();
        std::fs::write(root.join("site/css/a.css"), "a{}").unwrap();
        std::fs::create_dir_all(root.join("shared")).unwrap();
        std::fs::write(root.join("shared/logo.svg"), "<svg/>").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("shared"), root.join("site/shared")).unwrap();
            std::os::unix::fs::symlink(root.join("site"), root.join("site/css/loop")).unwrap();
        }
        let src = source_root(&format!("{}//site/css/../", root.display())).unwrap();
        let found = find_files(&src, &patterns_at(&src, &["**"])).unwrap();
        let rels: Vec<&str> = found.files.iter().map(|f| f.relative.as_str()).collect();
        #[cfg(unix)]
        {
            assert_eq!(rels, ["css/a.css", "index.html", "shared/logo.svg"]);
            assert_eq!(found.loops.len(), 1, "{}", found.loops.join(", "));
        }
        #[cfg(not(unix))]
        assert_eq!(rels, ["css/a.css", "index.html"]);
        assert_eq!(found.files[1].size, 6);
        assert!(
            source_root(&root.join("nope").display().to_string())
                .unwrap_err()
                .to_string()
                .contains("cannot be used")
        );
        assert!(
            source_root(&root.join("site/index.html").display().to_string())
                .unwrap_err()
                .to_string()
                .contains("is a file")
        );
    }

    fn patterns_at(root: &Path, lines: &[&str]) -> Patterns {
        Patterns::new(
            &lines.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            root,
            "globExpressions",
        )
        .unwrap()
    }
}
