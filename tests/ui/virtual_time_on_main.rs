#[corio::main(virtual_time)]
async fn main() {}
