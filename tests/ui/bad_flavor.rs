#[corio::main(flavor = "fast")]
async fn main() {}
