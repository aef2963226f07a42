//! The `#[corio::main]` and `#[corio::test]` attributes.
//!
//! Use them through the facade (`#[corio::main]`, `#[corio::test]`); this
//! crate only holds the procedural macros.
//!
//! # Example
//!
//! ```ignore
//! #[corio::main]
//! async fn main() {
//!     corio::sleep(std::time::Duration::from_millis(1)).await;
//! }
//! ```
//!
//! # Implementation
//!
//! Both attributes take an `async fn`, drop its `async`, and wrap its body in
//! `corio::run(async move { .. })` (for `main`) or in a fresh current-thread
//! runtime's `block_on` (for `test`). They work on raw token streams, so the
//! crate needs no parser dependency.

use proc_macro::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a fresh corio event loop, like `asyncio.run`.
///
/// `#[corio::main(flavor = "current_thread")]` is the default and the only
/// flavour so far.
///
/// # Examples
///
/// ```ignore
/// #[corio::main]
/// async fn main() {
///     println!("hello from the event loop");
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Err(error) = check_flavor(args) {
        return error;
    }
    match split_async_fn(item, "#[corio::main]") {
        Ok((signature, body)) => {
            let wrapped: TokenStream = format!("::corio::run(async move {body})")
                .parse()
                .expect("the wrapper is valid Rust");
            assemble(TokenStream::new(), signature, wrapped)
        }
        Err(error) => error,
    }
}

/// Runs an `async fn` test on a fresh current-thread corio loop.
///
/// `#[corio::test(virtual_time)]` gives the loop a virtual clock: it jumps to
/// the next timer whenever every task is idle, so a test that sleeps an hour
/// finishes at once.
///
/// # Examples
///
/// ```ignore
/// #[corio::test(virtual_time)]
/// async fn an_hour_passes_at_once() {
///     corio::sleep(std::time::Duration::from_secs(3600)).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let virtual_time = match parse_test_args(args) {
        Ok(virtual_time) => virtual_time,
        Err(error) => return error,
    };
    match split_async_fn(item, "#[corio::test]") {
        Ok((signature, body)) => {
            let wrapped: TokenStream = format!(
                "::corio::Runtime::builder().current_thread().virtual_time({virtual_time}).build()\
                 .expect(\"corio::test cannot create its runtime\")\
                 .block_on(async move {body})"
            )
            .parse()
            .expect("the wrapper is valid Rust");
            let attribute: TokenStream = "#[::core::prelude::v1::test]"
                .parse()
                .expect("the attribute is valid Rust");
            assemble(attribute, signature, wrapped)
        }
        Err(error) => error,
    }
}

/// Accepts no arguments, or `flavor = "current_thread"`.
fn check_flavor(args: TokenStream) -> Result<(), TokenStream> {
    let text = args.to_string().replace(' ', "");
    match text.as_str() {
        "" | "flavor=\"current_thread\"" => Ok(()),
        "flavor=\"multi_thread\"" => Err(compile_error(
            "corio::main: the multi_thread flavor is not available yet; \
             use the default current-thread loop",
        )),
        _ => Err(compile_error(
            "corio::main takes no arguments or `flavor = \"current_thread\"`",
        )),
    }
}

/// Accepts no arguments or the bare flag `virtual_time`.
fn parse_test_args(args: TokenStream) -> Result<bool, TokenStream> {
    match args.to_string().trim() {
        "" => Ok(false),
        "virtual_time" => Ok(true),
        _ => Err(compile_error(
            "corio::test takes no arguments or the flag `virtual_time`",
        )),
    }
}

/// Splits `[attributes] [vis] async fn name(args) [-> ret] { body }` into
/// the signature without `async` and the body's braces group.
fn split_async_fn(item: TokenStream, what: &str) -> Result<(Vec<TokenTree>, Group), TokenStream> {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = match tokens.pop() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
        _ => {
            return Err(compile_error(&format!(
                "{what} must be placed on a function with a body"
            )))
        }
    };
    let async_position = tokens
        .iter()
        .position(|token| matches!(token, TokenTree::Ident(ident) if ident.to_string() == "async"));
    match async_position {
        Some(position) => {
            tokens.remove(position);
            Ok((tokens, body))
        }
        None => Err(compile_error(&format!(
            "{what} must be placed on an `async fn`"
        ))),
    }
}

/// `attribute signature { wrapped }`.
fn assemble(
    attribute: TokenStream,
    signature: Vec<TokenTree>,
    wrapped: TokenStream,
) -> TokenStream {
    let mut output = attribute;
    output.extend(signature);
    output.extend([TokenTree::Group(Group::new(Delimiter::Brace, wrapped))]);
    output
}

/// `::core::compile_error!("message")`.
fn compile_error(message: &str) -> TokenStream {
    let span = Span::call_site();
    let mut tokens: Vec<TokenTree> = Vec::new();
    for segment in ["core", "compile_error"] {
        tokens.push(TokenTree::Punct(Punct::new(':', Spacing::Joint)));
        tokens.push(TokenTree::Punct(Punct::new(':', Spacing::Alone)));
        tokens.push(TokenTree::Ident(Ident::new(segment, span)));
    }
    tokens.push(TokenTree::Punct(Punct::new('!', Spacing::Alone)));
    let literal: TokenStream = format!("{message:?}")
        .parse()
        .expect("a string literal is valid Rust");
    tokens.push(TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        literal,
    )));
    tokens.push(TokenTree::Punct(Punct::new(';', Spacing::Alone)));
    tokens.into_iter().collect()
}
