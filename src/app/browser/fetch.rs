//! Downloading a file with progress: `fetch` and the response body's stream reader, chunk by
//! chunk, so a 90 MB model shows bytes and speed as it comes.

use wasm_bindgen::JsCast;
use web_sys::{ReadableStreamDefaultReader, Response};

use crate::app::browser::js;

/// How far a download is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub loaded: u64,
    /// From `Content-Length`, when the server sends it.
    pub total: Option<u64>,
    pub bytes_per_s: f64,
}

impl Progress {
    pub fn fraction(&self) -> Option<f64> {
        self.total
            .filter(|&t| t > 0)
            .map(|t| (self.loaded as f64 / t as f64).min(1.0))
    }
}

/// Megabytes with one decimal.
pub fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// Why a download failed.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchError {
    /// No answer at all: offline, refused, or blocked by CORS (the browser does not say which).
    Network(String),
    /// The server answered with an error status.
    Status(u16, String),
    /// The answer broke off or could not be read.
    Body(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Network(m) | Self::Body(m) => f.write_str(m),
            Self::Status(code, text) => write!(f, "the server answered {code} {text}"),
        }
    }
}

/// The response to a GET of `url`, or why there is none.
pub async fn get(url: &str) -> Result<Response, FetchError> {
    let window = web_sys::window().ok_or(FetchError::Network("no window".into()))?;
    let response: Response = js::resolve(window.fetch_with_str(url).into())
        .await
        .map_err(FetchError::Network)?
        .unchecked_into();
    if !response.ok() {
        return Err(FetchError::Status(
            response.status(),
            response.status_text(),
        ));
    }
    Ok(response)
}

async fn response(url: &str) -> Result<Response, String> {
    get(url).await.map_err(|e| format!("{url}: {e}"))
}

/// The text of a small file.
pub async fn text(url: &str) -> Result<String, String> {
    let response = response(url).await?;
    let text = response.text().map_err(|e| js::message(&e))?;
    Ok(js::resolve(text.into())
        .await?
        .as_string()
        .unwrap_or_default())
}

/// The bytes of a file, calling `on_progress` at most every 100 ms and once at the end.
pub async fn bytes(url: &str, on_progress: impl Fn(Progress)) -> Result<Vec<u8>, String> {
    let response = response(url).await?;
    body(response, on_progress)
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// The body of a response, chunk by chunk, with progress as [`bytes`].
pub async fn body(
    response: Response,
    on_progress: impl Fn(Progress),
) -> Result<Vec<u8>, FetchError> {
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let body = response
        .body()
        .ok_or_else(|| FetchError::Body("empty body".into()))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut out = Vec::with_capacity(total.unwrap_or(0) as usize);
    let started = js::now_ms();
    let mut last = started;
    let progress = |loaded: usize, now: f64| Progress {
        loaded: loaded as u64,
        total,
        bytes_per_s: loaded as f64 / ((now - started) / 1e3).max(1e-3),
    };
    loop {
        let chunk = js::resolve(reader.read().into())
            .await
            .map_err(|e| FetchError::Body(format!("the download broke off: {e}")))?;
        if js::get(&chunk, "done").is_truthy() {
            break;
        }
        let value: js_sys::Uint8Array = js::get(&chunk, "value").unchecked_into();
        let at = out.len();
        out.resize(at + value.length() as usize, 0);
        value.copy_to(&mut out[at..]);
        let now = js::now_ms();
        if now - last >= 100.0 {
            last = now;
            on_progress(progress(out.len(), now));
        }
    }
    on_progress(progress(out.len(), js::now_ms()));
    Ok(out)
}
