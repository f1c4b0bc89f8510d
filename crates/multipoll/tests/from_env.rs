//! `MULTIPOLL_BACKEND`: which error kind each wrong value gives, through
//! `Backend::from_env`, `AnyPoller::from_env` and `<AnyPoller as Poller>::new()`.
//!
//! One test in its own binary: it changes the process environment, which no other thread
//! may read meanwhile.

use std::ffi::{OsStr, OsString};
use std::io;

use multipoll::{AnyPoller, Backend, Poller};

/// Sets `MULTIPOLL_BACKEND` (or removes it, for `None`).
fn set_backend_var(value: Option<&OsStr>) {
    if let Some(value) = value {
        // SAFETY: this binary's one test is its only thread that runs while the
        // environment changes; nothing else in the process reads it meanwhile.
        unsafe { std::env::set_var("MULTIPOLL_BACKEND", value) };
    } else {
        // SAFETY: as above.
        unsafe { std::env::remove_var("MULTIPOLL_BACKEND") };
    }
}

/// A value that is not UTF-8: a byte that is no character on Unix, an unpaired surrogate
/// on Windows.
fn not_utf8() -> OsString {
    #[cfg(unix)]
    let value = <OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"epoll\xff").to_owned();
    #[cfg(windows)]
    let value = std::os::windows::ffi::OsStringExt::from_wide(&[u16::from(b'e'), 0xD800]);
    value
}

/// The error kind of each way to read the variable, which must agree.
#[track_caller]
fn kinds_for(value: impl AsRef<OsStr>) -> [Option<io::ErrorKind>; 3] {
    set_backend_var(Some(value.as_ref()));
    [
        Backend::from_env().err().map(|e| e.kind()),
        AnyPoller::from_env().err().map(|e| e.kind()),
        <AnyPoller as Poller>::new().err().map(|e| e.kind()),
    ]
}

#[test]
fn env_backend_errors_match_their_docs() -> io::Result<()> {
    let unknown = Some(io::ErrorKind::InvalidInput);
    assert_eq!(kinds_for("wepoll"), [unknown; 3], "a name multipoll does not know");
    assert_eq!(kinds_for("EPOLL"), [unknown; 3], "names are lower case");
    // Not UTF-8: refused, not taken for unset.
    assert_eq!(kinds_for(not_utf8()), [unknown; 3], "not UTF-8");
    let unsupported = Some(io::ErrorKind::Unsupported);
    if cfg!(target_os = "linux") {
        assert_eq!(kinds_for("kqueue"), [unsupported; 3], "a known backend not built here");
    }
    if cfg!(windows) {
        assert_eq!(kinds_for("epoll"), [unsupported; 3], "a known backend not built here");
    }
    for backend in Backend::available() {
        assert_eq!(kinds_for(backend.name()), [None; 3], "{backend}");
        assert_eq!(Backend::from_env()?, backend);
        assert_eq!(AnyPoller::from_env()?.backend(), backend);
        assert_eq!(<AnyPoller as Poller>::new()?.backend(), backend);
    }
    set_backend_var(Some(OsStr::new("")));
    assert_eq!(AnyPoller::from_env()?.backend(), Backend::compiled_default(), "empty: unset");
    set_backend_var(None);
    assert_eq!(Backend::from_env()?, Backend::compiled_default());
    assert_eq!(AnyPoller::from_env()?.backend(), Backend::compiled_default());
    Ok(())
}
