//! A generated client works unchanged: `openapi-python-client` (pinned in
//! `.ci/requirements.txt`) generates a Python client from the checked-in
//! `openapi/openapi.json`, with any warning failing the test, and
//! `tests/clients/walkthrough.py` drives the README's whole restore through
//! it, typed models and API functions only, against a live service.

use rrs_tests::tools::{repository_root, run, tool};
use rrs_tests::TestContext;
use tokio::process::Command;

#[tokio::test]
async fn generated_python_client_drives_the_readme_restore() {
    let root = repository_root();
    let generator = tool("openapi-python-client");
    let python = tool("python");
    let out = tempfile::tempdir().unwrap();
    let package = out.path().join("rrs_client");

    let (generated, log) = run(Command::new(&generator)
        .arg("generate")
        .arg("--path")
        .arg(root.join("openapi/openapi.json"))
        .arg("--config")
        .arg(root.join("tests/clients/openapi-python-client.yaml"))
        .args(["--meta", "none", "--fail-on-warning", "--output-path"])
        .arg(&package)
        .current_dir(out.path()))
    .await;
    assert!(generated, "generation failed:\n{log}");
    assert!(
        !log.to_lowercase().contains("warning"),
        "the generator warned about openapi/openapi.json:\n{log}"
    );
    assert!(package.join("api").is_dir(), "no client generated:\n{log}");

    let ctx = TestContext::start().await;
    let (walked, log) = run(Command::new(&python)
        .arg(root.join("tests/clients/walkthrough.py"))
        .arg(ctx.url(""))
        .arg(&ctx.admin_token)
        .env("PYTHONPATH", out.path())
        .env("PYTHONDONTWRITEBYTECODE", "1"))
    .await;
    assert!(walked, "the walkthrough failed:\n{log}");
    assert!(log.contains("walkthrough complete"), "{log}");
}
