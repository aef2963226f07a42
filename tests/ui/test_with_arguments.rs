#[corio::test]
async fn takes_a_count(count: usize) {
    let _ = count;
}

fn main() {}
