//! Helpers the binary's integration tests share.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_parvis");

/// A `parvis` command in `dir` with no PARVIS_* variable inherited from the caller.
pub fn parvis(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("PARVIS_") {
            command.env_remove(name);
        }
    }
    // Tests start from an empty store unless they ask for the demonstration data (`--demo`).
    command.env("PARVIS_DEMO", "false");
    command
}

/// A port nobody listens on now.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}
