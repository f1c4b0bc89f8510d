//! Names the backend conditions once (`has_select`, `has_poll`, `has_epoll`, `has_kqueue`, `has_uring`,
//! `has_iocp`:
//! feature on *and* the target has the syscall), so the facade's sources use short cfgs
//! instead of repeating the platform lists.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let vendor = std::env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    let feature =
        |name: &str| std::env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase())).is_some();
    let unix = std::env::var_os("CARGO_CFG_UNIX").is_some();
    let windows = std::env::var_os("CARGO_CFG_WINDOWS").is_some();
    let linux = matches!(os.as_str(), "linux" | "android");
    let bsd =
        matches!(os.as_str(), "freebsd" | "dragonfly" | "netbsd" | "openbsd") || vendor == "apple";
    let backends = [
        ("has_select", feature("select") && (unix || windows)),
        ("has_poll", feature("poll") && (unix || windows)),
        ("has_epoll", feature("epoll") && linux),
        ("has_kqueue", feature("kqueue") && bsd),
        ("has_uring", feature("uring") && linux),
        ("has_iocp", feature("iocp") && windows),
    ];
    for (cfg, on) in backends {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if on {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
