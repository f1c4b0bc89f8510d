//! `MULTIPOLL_URING_UNAVAILABLE=1` while building says that io_uring is unavailable here on
//! purpose (a container that blocks it, `kernel.io_uring_disabled`): the tests that need a
//! ring are then left out (cfg `uring_unavailable`), and `tests/availability.rs` checks
//! that `Uring::new` refuses with a reason instead. Without it, those tests fail where
//! io_uring is missing, as they should.

fn main() {
    println!("cargo::rerun-if-env-changed=MULTIPOLL_URING_UNAVAILABLE");
    println!("cargo::rustc-check-cfg=cfg(uring_unavailable)");
    if std::env::var_os("MULTIPOLL_URING_UNAVAILABLE").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=uring_unavailable");
    }
}
