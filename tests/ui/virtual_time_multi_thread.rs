#[corio::test(flavor = "multi_thread", virtual_time)]
async fn sleeps() {}

fn main() {}
