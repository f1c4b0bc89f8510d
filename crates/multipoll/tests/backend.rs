//! Backend names, availability and runtime selection.

use std::io;

use multipoll::{AnyPoller, Backend, Poller};

#[test]
fn names_round_trip() -> io::Result<()> {
    for b in Backend::available() {
        assert_eq!(b.name().parse::<Backend>()?, b);
        assert_eq!(b.to_string(), b.name());
    }
    Ok(())
}

#[test]
fn unknown_backend_lists_available() {
    let err = "iocp".parse::<Backend>().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    for b in Backend::available() {
        assert!(err.to_string().contains(b.name()), "{err}");
    }
}

#[test]
fn linux_has_three_backends() {
    if cfg!(target_os = "linux") {
        let got: Vec<Backend> = Backend::available().collect();
        assert_eq!(got, [Backend::Select, Backend::Poll, Backend::Epoll]);
        assert_eq!(Backend::compiled_default(), Backend::Epoll);
        assert!(!Backend::Kqueue.is_available());
        let err = "kqueue".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let err = AnyPoller::new(Backend::Kqueue).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }
}

#[test]
fn any_poller_reports_its_backend() -> io::Result<()> {
    for b in Backend::available() {
        let p = AnyPoller::new(b)?;
        assert_eq!(p.backend(), b);
        assert_eq!(p.capabilities().name(), b.name());
    }
    Ok(())
}

/// On the BSDs and macOS the build has kqueue, and it is the default: what
/// `scripts/test-kqueue.sh` relies on for the facade's and the echo server's tests to run
/// on kqueue rather than pass by skipping it.
#[test]
#[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
fn bsd_builds_kqueue() -> io::Result<()> {
    let got: Vec<Backend> = Backend::available().collect();
    assert_eq!(got, [Backend::Select, Backend::Poll, Backend::Kqueue]);
    assert_eq!(Backend::compiled_default(), Backend::Kqueue);
    assert_eq!(AnyPoller::new(Backend::Kqueue)?.capabilities().name(), "kqueue");
    Ok(())
}
