//! Results written whole or not at all: every file of a result goes to a temporary beside it,
//! and only when all are written do they replace their targets; a failure at any point puts the
//! targets back as they were and removes every temporary.

use crate::error::Error;
use std::io;
use std::path::{Path, PathBuf};

/// [`write_files`] for one file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_files(&[(path.to_path_buf(), bytes)])
}

/// Writes every file of one result whole or not at all. A directory in the way is refused
/// before anything is written; a file a failed call would have replaced keeps its old contents.
pub fn write_files(files: &[(PathBuf, &[u8])]) -> Result<(), Error> {
    write_files_with(files, |from, to| std::fs::rename(from, to))
}

/// [`write_files`] into the folder `dir`, made when missing; a failure removes the folders this
/// call made, so a failed command leaves no empty result folder behind.
pub fn write_folder(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), Error> {
    let made: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    let result = std::fs::create_dir_all(dir)
        .map_err(|e| Error::from(format!("{}: {e}", dir.display())))
        .and_then(|()| {
            let files: Vec<(PathBuf, &[u8])> = files
                .iter()
                .map(|(name, bytes)| (dir.join(name), *bytes))
                .collect();
            write_files(&files)
        });
    if result.is_err() {
        // Innermost first; a folder that is not empty (someone else's files) stays.
        for d in made {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

/// A sibling of `path` that no result file is named: `.{name}.{what}-{pid}`.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// [`write_files`] with the renaming given, so that tests can make one fail.
fn write_files_with(
    files: &[(PathBuf, &[u8])],
    rename: impl Fn(&Path, &Path) -> io::Result<()>,
) -> Result<(), Error> {
    if let Some((path, _)) = files.iter().find(|(p, _)| p.is_dir()) {
        return Err(format!("{}: is a directory; give a file name", path.display()).into());
    }
    let failed = |path: &Path, e: io::Error| Error::from(format!("{}: {e}", path.display()));
    let mut temporaries = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let tmp = sibling(path, "part");
        let written = std::fs::write(&tmp, bytes);
        temporaries.push(tmp);
        if let Err(e) = written {
            remove_all(&temporaries);
            return Err(failed(path, e));
        }
    }
    // Each target that exists is moved aside first, so that a later failure can put it back.
    let mut placed: Vec<(&Path, Option<PathBuf>)> = Vec::with_capacity(files.len());
    let undo = |placed: &[(&Path, Option<PathBuf>)]| {
        for (path, old) in placed.iter().rev() {
            match old {
                Some(old) => {
                    let _ = rename(old, path);
                }
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    };
    for (i, (path, _)) in files.iter().enumerate() {
        let old = path.exists().then(|| sibling(path, "old"));
        if let Some(old) = &old
            && let Err(e) = rename(path, old)
        {
            undo(&placed);
            remove_all(&temporaries[i..]);
            return Err(failed(path, e));
        }
        if let Err(e) = rename(&temporaries[i], path) {
            if let Some(old) = &old {
                let _ = rename(old, path);
            }
            undo(&placed);
            remove_all(&temporaries[i..]);
            return Err(failed(path, e));
        }
        placed.push((path, old));
    }
    let old: Vec<PathBuf> = placed.into_iter().filter_map(|(_, old)| old).collect();
    remove_all(&old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A fresh directory for one test, removed at the end.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("bpt-lab-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn every_file_is_written_and_the_old_contents_are_replaced() {
        let dir = Dir::new("out-ok");
        let (a, b) = (dir.0.join("a.txt"), dir.0.join("b.txt"));
        std::fs::write(&a, "old a").unwrap();
        write_files(&[(a.clone(), b"new a"), (b.clone(), b"new b")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(
            dir.entries(),
            ["a.txt", "b.txt"],
            "no temporaries or old copies"
        );
    }

    #[test]
    fn a_rename_that_fails_puts_back_every_file_already_replaced() {
        for fail_at in 0..4 {
            let dir = Dir::new(&format!("out-rename-{fail_at}"));
            let (a, b) = (dir.0.join("metrics.jsonl"), dir.0.join("run.safetensors"));
            std::fs::write(&a, "old metrics").unwrap();
            std::fs::write(&b, "old run").unwrap();
            let calls = Cell::new(0);
            let rename = |from: &Path, to: &Path| {
                calls.set(calls.get() + 1);
                if calls.get() == fail_at + 1 {
                    return Err(io::Error::other("the rename was refused"));
                }
                std::fs::rename(from, to)
            };
            let err = write_files_with(
                &[(a.clone(), b"new metrics"), (b.clone(), b"new run")],
                rename,
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("the rename was refused"), "{err}");
            assert_eq!(
                std::fs::read_to_string(&a).unwrap(),
                "old metrics",
                "fail at {fail_at}"
            );
            assert_eq!(
                std::fs::read_to_string(&b).unwrap(),
                "old run",
                "fail at {fail_at}"
            );
            assert_eq!(
                dir.entries(),
                ["metrics.jsonl", "run.safetensors"],
                "fail at {fail_at}"
            );
        }
    }

    #[test]
    fn a_failed_rename_of_a_new_file_leaves_none_of_the_result() {
        let dir = Dir::new("out-new");
        let (a, b) = (dir.0.join("a.txt"), dir.0.join("b.txt"));
        let calls = Cell::new(0);
        let rename = |from: &Path, to: &Path| {
            calls.set(calls.get() + 1);
            if calls.get() == 2 {
                return Err(io::Error::other("no"));
            }
            std::fs::rename(from, to)
        };
        assert!(write_files_with(&[(a, b"1"), (b, b"2")], rename).is_err());
        assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    }

    #[test]
    fn a_folder_that_a_failed_write_made_is_removed_and_one_that_was_there_stays() {
        let dir = Dir::new("out-folder");
        let out = dir.0.join("new").join("run");
        // A name the file system refuses: the folder is made, then the write fails.
        let err = write_folder(&out, &[("ok.txt", b"1"), ("bad\0name", b"2")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad"), "{err}");
        assert!(dir.entries().is_empty(), "{:?}", dir.entries());
        std::fs::create_dir(dir.0.join("kept")).unwrap();
        assert!(write_folder(&dir.0.join("kept"), &[("bad\0name", b"2")]).is_err());
        assert_eq!(dir.entries(), ["kept"]);
        write_folder(&out, &[("ok.txt", b"1")]).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("ok.txt")).unwrap(), "1");
    }

    #[test]
    fn a_write_that_fails_leaves_no_temporary() {
        let dir = Dir::new("out-write");
        let a = dir.0.join("a.txt");
        // The second file's folder does not exist, so its temporary cannot be written.
        let b = dir.0.join("missing").join("b.txt");
        let err = write_files(&[(a, b"1"), (b, b"2")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing"), "{err}");
        assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    }
}
