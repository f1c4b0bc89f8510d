//! Whether io_uring can be used is known only at run time: a kernel may be too old, have
//! it disabled (`kernel.io_uring_disabled`), or a seccomp filter may refuse it (container
//! runtimes' default profiles do). `Uring::new` then fails with `Unsupported` and says
//! why, and `is_supported` says no; where it works, both say so, and a test that expected
//! a ring fails rather than skips.
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::io;
use std::process::Command;

use multipoll_uring::{Poller, Uring, is_supported};

/// Set in the child process of [`seccomp_refusal_is_unsupported`].
const CHILD: &str = "MULTIPOLL_URING_TEST_SECCOMP_CHILD";

/// What the environment says: `MULTIPOLL_URING_UNAVAILABLE=1` where io_uring is expected
/// to be unavailable.
fn expected_unavailable() -> bool {
    std::env::var_os("MULTIPOLL_URING_UNAVAILABLE").is_some_and(|v| v == "1")
}

#[test]
fn new_and_is_supported_tell_the_truth() -> io::Result<()> {
    match Uring::new() {
        Ok(poller) => {
            assert!(
                !expected_unavailable(),
                "io_uring works here, though MULTIPOLL_URING_UNAVAILABLE=1 says it should not"
            );
            assert!(is_supported(), "a ring was created, yet is_supported says no");
            assert_eq!(poller.capabilities().name(), "uring");
        }
        Err(e) => {
            assert!(
                expected_unavailable(),
                "io_uring is unavailable here ({e}); set MULTIPOLL_URING_UNAVAILABLE=1 where \
                 that is expected"
            );
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
            assert!(e.to_string().contains("io_uring"), "the reason names nothing: {e}");
            assert!(!is_supported(), "new failed, yet is_supported says yes");
        }
    }
    Ok(())
}

/// A thread whose seccomp filter makes `io_uring_setup(2)` fail with `EPERM`: `new` is
/// `Unsupported`, with the reason; `is_supported` says no. In a child process of its own,
/// since a filter cannot be taken back (nor `is_supported`'s answer, kept per process).
#[test]
fn seccomp_refusal_is_unsupported() -> io::Result<()> {
    if std::env::var_os(CHILD).is_some() {
        return refused_by_seccomp();
    }
    let output = Command::new(std::env::current_exe()?)
        .args(["--exact", "seccomp_refusal_is_unsupported", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()?;
    let report = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed:\n{report}");
    assert!(report.contains("1 passed"), "the child ran no test:\n{report}");
    Ok(())
}

/// In the child: refuse `io_uring_setup`, then ask.
fn refused_by_seccomp() -> io::Result<()> {
    refuse_io_uring_setup()?;
    let err = Uring::new().expect_err("io_uring_setup is refused");
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    let message = err.to_string();
    // EPERM names the sysctl where it is set, else a seccomp filter as the likely cause.
    assert!(
        message.contains("seccomp") || message.contains("io_uring_disabled"),
        "the reason does not say why: {message}"
    );
    assert!(!is_supported(), "is_supported says yes where io_uring_setup is refused");
    Ok(())
}

/// Installs, on the calling thread, a seccomp filter that fails `io_uring_setup(2)` with
/// `EPERM` and allows every other syscall.
fn refuse_io_uring_setup() -> io::Result<()> {
    let instruction =
        |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter { code: code as u16, jt, jf, k };
    let mut program = [
        // Load the syscall number (`seccomp_data.nr`, at offset 0).
        instruction(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        instruction(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            0,
            1,
            libc::SYS_io_uring_setup as u32,
        ),
        instruction(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        instruction(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_mut_ptr() };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers; it only restricts this process.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fprog` points to `program`, both alive for the call, which copies them.
    let r = unsafe {
        libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &raw const fprog, 0, 0)
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
