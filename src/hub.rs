//! Where a model on the Hugging Face Hub lives: what the user typed (a repository id such as
//! `timm/vit_small_patch16_224.augreg_in21k`, a hub page URL, or the URL of a `.safetensors`
//! file or of a folder on any server) turned into the URLs BPT Lab reads, `config.json`,
//! `model.safetensors` and, when there is one, `preprocessor_config.json`, and the messages for
//! the ways a download fails. Pure: the page does
//! the fetching (`app::hub_load`).

const HUB: &str = "https://huggingface.co";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";
/// An HF image processor's settings (mean, std, crop), read when the repository has one.
pub const PREPROCESSOR_FILE: &str = "preprocessor_config.json";

/// A model's two files and how to name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubModel {
    /// `owner/name` on the Hub, or the URL's folder for other servers.
    pub id: String,
    /// The git revision on the Hub (`main` unless the URL names one).
    pub revision: String,
    pub weights_url: String,
    pub config_url: String,
    /// `preprocessor_config.json` beside the config (optional: a 404 means there is none).
    pub preprocessor_url: String,
}

impl HubModel {
    /// A short name for labels and file names: the part after the last `/`.
    pub fn short_name(&self) -> &str {
        self.id
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(&self.id)
    }

    fn on_hub(repo: &str, revision: &str) -> Self {
        let file = |name: &str| format!("{HUB}/{repo}/resolve/{revision}/{name}");
        Self {
            id: repo.to_string(),
            revision: revision.to_string(),
            weights_url: file(WEIGHTS_FILE),
            config_url: file(CONFIG_FILE),
            preprocessor_url: file(PREPROCESSOR_FILE),
        }
    }
}

/// A Hub name part: letters, digits, `-`, `_` and `.`, not starting with `.` or `-`.
fn name_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 96
        && !s.starts_with(['.', '-'])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads what the user typed.
pub fn parse(input: &str) -> Result<HubModel, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("type a Hugging Face repository id (owner/name) or a URL".into());
    }
    let rest = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"));
    let Some(rest) = rest else {
        // A bare id: owner/name.
        let parts: Vec<&str> = input.split('/').collect();
        return match parts.as_slice() {
            [owner, name] if name_part(owner) && name_part(name) => {
                Ok(HubModel::on_hub(input, "main"))
            }
            _ => Err(format!(
                "{input:?} is neither a repository id (owner/name, for example \
                 timm/vit_small_patch16_224.augreg_in21k) nor an http(s) URL"
            )),
        };
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    if matches!(host, "huggingface.co" | "www.huggingface.co" | "hf.co") {
        let parts: Vec<&str> = path.split('/').collect();
        let (owner, name) = match parts.as_slice() {
            [owner, name, ..] if name_part(owner) && name_part(name) => (*owner, *name),
            _ => {
                return Err(format!(
                    "{input} does not name a model repository (https://huggingface.co/owner/name)"
                ));
            }
        };
        // /owner/name[/tree|blob|resolve/revision[/file]]
        let revision = match parts.get(2..4) {
            Some([kind, rev]) if matches!(*kind, "tree" | "blob" | "resolve") => *rev,
            _ => "main",
        };
        return Ok(HubModel::on_hub(&format!("{owner}/{name}"), revision));
    }
    // Another server: a .safetensors file with config.json beside it, or a folder of both.
    let url = input.split(['?', '#']).next().unwrap_or(input);
    let folder = if url.ends_with(".safetensors") {
        url.rsplit_once('/').map_or(url, |(dir, _)| dir)
    } else {
        url.trim_end_matches('/')
    };
    let weights_url = if url.ends_with(".safetensors") {
        url.to_string()
    } else {
        format!("{folder}/{WEIGHTS_FILE}")
    };
    Ok(HubModel {
        id: folder.to_string(),
        revision: String::new(),
        weights_url,
        config_url: format!("{folder}/{CONFIG_FILE}"),
        preprocessor_url: format!("{folder}/{PREPROCESSOR_FILE}"),
    })
}

/// The message for an HTTP error status answering the request for `file` of `model`.
pub fn status_message(model: &HubModel, file: &str, status: u16) -> String {
    let what = format!("{file} of {}", model.id);
    match status {
        401 | 403 => format!(
            "{what}: the server refused access ({status}). The repository is gated or private; \
             BPT Lab does not sign in, so download it and load it as local files"
        ),
        404 if file == WEIGHTS_FILE => format!(
            "{what}: not found (404). Check the id and revision; BPT Lab reads safetensors \
             weights only (not pytorch_model.bin)"
        ),
        404 => format!("{what}: not found (404). Check the repository id and revision"),
        429 => format!("{what}: too many requests (429); wait a minute and try again"),
        500..=599 => format!("{what}: the server failed ({status}); try again later"),
        _ => format!("{what}: the server answered {status}"),
    }
}

/// The message for a request that got no answer at all: the browser does not say whether the
/// network failed or the server refused the cross-origin request, so both are named.
pub fn network_message(url: &str) -> String {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(url);
    format!(
        "could not reach {host}: the network is down, or the server does not allow this page \
         to read it (CORS). Check the connection, or download the files and load them as local \
         files"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_ids() {
        let m = parse("timm/vit_tiny_patch16_224.augreg_in21k").unwrap();
        assert_eq!(m.id, "timm/vit_tiny_patch16_224.augreg_in21k");
        assert_eq!(
            m.weights_url,
            "https://huggingface.co/timm/vit_tiny_patch16_224.augreg_in21k/resolve/main/model.safetensors"
        );
        assert_eq!(
            m.config_url,
            "https://huggingface.co/timm/vit_tiny_patch16_224.augreg_in21k/resolve/main/config.json"
        );
        assert_eq!(m.short_name(), "vit_tiny_patch16_224.augreg_in21k");
        assert_eq!(
            parse("  facebook/dinov2-small ").unwrap().id,
            "facebook/dinov2-small"
        );
    }

    #[test]
    fn hub_urls_with_and_without_a_revision() {
        for url in [
            "https://huggingface.co/facebook/dinov2-small",
            "https://huggingface.co/facebook/dinov2-small/",
            "https://hf.co/facebook/dinov2-small?library=transformers",
            "https://huggingface.co/facebook/dinov2-small/tree/main",
        ] {
            let m = parse(url).unwrap();
            assert_eq!(
                (m.id.as_str(), m.revision.as_str()),
                ("facebook/dinov2-small", "main"),
                "{url}"
            );
        }
        let m = parse(
            "https://huggingface.co/timm/vit_base_patch16_224.mae/blob/v1.0/model.safetensors",
        )
        .unwrap();
        assert_eq!(m.revision, "v1.0");
        assert!(
            m.weights_url
                .ends_with("/timm/vit_base_patch16_224.mae/resolve/v1.0/model.safetensors")
        );
    }

    #[test]
    fn other_servers() {
        let m = parse("https://example.org/models/vit/weights.safetensors").unwrap();
        assert_eq!(
            m.weights_url,
            "https://example.org/models/vit/weights.safetensors"
        );
        assert_eq!(m.config_url, "https://example.org/models/vit/config.json");
        assert_eq!(m.short_name(), "vit");
        let m = parse("http://127.0.0.1:9000/tiny/").unwrap();
        assert_eq!(
            m.weights_url,
            "http://127.0.0.1:9000/tiny/model.safetensors"
        );
        assert_eq!(m.config_url, "http://127.0.0.1:9000/tiny/config.json");
        assert_eq!(
            m.preprocessor_url,
            "http://127.0.0.1:9000/tiny/preprocessor_config.json"
        );
    }

    #[test]
    fn refusals_say_what_was_expected() {
        for bad in [
            "",
            "vit_small",
            "a/b/c",
            "timm/../x",
            "ftp://x/y",
            "https://huggingface.co/timm",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse("vit_small").unwrap_err().contains("owner/name"));
    }

    #[test]
    fn messages_name_the_file_and_the_cause() {
        let m = parse("timm/none").unwrap();
        assert!(
            status_message(&m, WEIGHTS_FILE, 404)
                .contains("model.safetensors of timm/none: not found (404)")
        );
        assert!(status_message(&m, WEIGHTS_FILE, 404).contains("pytorch_model.bin"));
        assert!(status_message(&m, CONFIG_FILE, 401).contains("gated or private"));
        assert!(status_message(&m, CONFIG_FILE, 503).contains("try again later"));
        let n = network_message("https://huggingface.co/timm/x/resolve/main/config.json");
        assert!(n.starts_with("could not reach huggingface.co:") && n.contains("CORS"));
    }
}
