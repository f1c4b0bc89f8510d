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
    let err = "wepoll".parse::<Backend>().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    for b in Backend::available() {
        assert!(err.to_string().contains(b.name()), "{err}");
    }
}

/// Whether the environment says io_uring is refused here on purpose (a container that
/// blocks it, `kernel.io_uring_disabled`); without it, a missing io_uring fails the tests.
fn uring_expected_unavailable() -> bool {
    std::env::var_os("MULTIPOLL_URING_UNAVAILABLE").is_some_and(|v| v == "1")
}

#[test]
fn linux_has_four_backends() {
    if cfg!(target_os = "linux") {
        let got: Vec<Backend> = Backend::available().collect();
        if uring_expected_unavailable() {
            assert_eq!(got, [Backend::Select, Backend::Poll, Backend::Epoll]);
        } else {
            assert_eq!(got, [Backend::Select, Backend::Poll, Backend::Epoll, Backend::Uring]);
        }
        assert_eq!(Backend::compiled_default(), Backend::Epoll);
        assert!(!Backend::Kqueue.is_compiled() && !Backend::Kqueue.is_available());
        let err = "kqueue".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("not available in this build"), "{err}");
        let err = AnyPoller::new(Backend::Kqueue).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let err = "iocp".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "a Windows backend, known by name");
    }
}

#[test]
fn windows_has_three_backends() -> io::Result<()> {
    if cfg!(windows) {
        let got: Vec<Backend> = Backend::available().collect();
        assert_eq!(got, [Backend::Select, Backend::Poll, Backend::Iocp]);
        assert_eq!(Backend::compiled_default(), Backend::Iocp);
        for backend in got {
            assert_eq!(AnyPoller::new(backend)?.capabilities().name(), backend.name());
        }
        let err = "epoll".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    } else {
        assert!(!Backend::Iocp.is_compiled() && !Backend::Iocp.is_available());
    }
    Ok(())
}

/// io_uring is compiled on Linux whether or not the kernel lets it run; when it does not
/// (and only when the environment says so), every way in names the cause.
#[test]
fn uring_compiled_and_runs_unless_refused() -> io::Result<()> {
    if !cfg!(target_os = "linux") {
        assert!(!Backend::Uring.is_compiled());
        return Ok(());
    }
    assert!(Backend::Uring.is_compiled());
    if uring_expected_unavailable() {
        assert!(!Backend::Uring.is_available());
        let err = "uring".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("cannot run here"), "{err}");
        let err = AnyPoller::new(Backend::Uring).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    } else {
        assert!(
            Backend::Uring.is_available(),
            "io_uring refused: set MULTIPOLL_URING_UNAVAILABLE=1 if expected"
        );
        assert_eq!("uring".parse::<Backend>()?, Backend::Uring);
        assert_eq!(AnyPoller::new(Backend::Uring)?.capabilities().name(), "uring");
    }
    Ok(())
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
