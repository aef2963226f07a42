#[corio::test(virtual_time = true)]
async fn sleeps() {}

fn main() {}
