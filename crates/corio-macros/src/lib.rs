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
//! Both attributes take an `async fn`, drop its `async` keyword and move its
//! body, unchanged, into `::corio::run(async move BODY)` (for `main` on the
//! current-thread flavour) or into `runtime.block_on(async move BODY)` on a
//! fresh runtime of the chosen flavour (for `test`, which also gets
//! `#[test]`, and for `main` with `flavor = "multi_thread"`). The expansion is built token by token
//! with `proc_macro` alone, with no parser dependency: the body's brace group
//! and every token of the signature are passed through as they came, so their
//! spans stay the user's. A warning, an error, `line!()`, a panic's location
//! and a task's spawn location (`#[track_caller]`) inside the body name the
//! body's own line, not the attribute's. Of the few tokens the expansion
//! adds, the runtime's construction and `#[test]` carry the attribute's span,
//! and the call that gives the function its value is located at the body's
//! tail expression, so that a mismatched return type is reported there (as
//! tokio's macros do).
//!
//! A misuse (a function that is not `async`, a function with arguments, an
//! unknown option, a bad option value) becomes a `compile_error!` whose
//! tokens carry the span of the offending token, so the compiler points at
//! it. The function is still expanded, with the default options, beside the
//! error, so that the error is usually the only one reported (a `main` with
//! arguments also gets rustc's own "wrong type" error).

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a fresh corio event loop, like `asyncio.run`.
///
/// `#[corio::main(flavor = "current_thread")]` is the default.
/// `#[corio::main(flavor = "multi_thread")]` runs the body with `block_on` on
/// a multi-thread `Runtime` (one worker per core, or `worker_threads = N`).
///
/// # Examples
///
/// ```ignore
/// #[corio::main]
/// async fn main() {
///     println!("hello from the event loop");
/// }
/// ```
///
/// ```ignore
/// #[corio::main(flavor = "multi_thread", worker_threads = 4)]
/// async fn main() {
///     corio::spawn(async { println!("hello from a worker") }).await.unwrap();
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Entry::Main, args, item)
}

/// Runs an `async fn` test on a fresh current-thread corio loop.
///
/// `#[corio::test(virtual_time)]` gives the loop a virtual clock: it jumps to
/// the next timer whenever every task is idle, so a test that sleeps an hour
/// finishes at once (current-thread flavour only). `flavor` and
/// `worker_threads` are accepted as for [`macro@main`].
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
    expand(Entry::Test, args, item)
}

/// Which attribute is being expanded.
#[derive(Clone, Copy)]
enum Entry {
    Main,
    Test,
}

impl Entry {
    /// The attribute as a user writes it, for error messages.
    fn name(self) -> &'static str {
        match self {
            Entry::Main => "#[corio::main]",
            Entry::Test => "#[corio::test]",
        }
    }

    /// The options the attribute takes, for the unknown-option message.
    fn options(self) -> &'static str {
        match self {
            Entry::Main => "`flavor` and `worker_threads`",
            Entry::Test => "`flavor`, `worker_threads` and `virtual_time`",
        }
    }
}

/// The clock of a test's runtime.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Real,
    Virtual,
}

/// The runtime flavour an attribute asks for.
#[derive(Clone)]
enum Flavor {
    CurrentThread,
    /// With the `worker_threads` literal, if given.
    MultiThread(Option<TokenTree>),
}

/// The options of an attribute, with their defaults.
struct Options {
    clock: Clock,
    flavor: Flavor,
}

/// One misuse, reported as a `compile_error!` at `span`.
struct Error {
    span: Span,
    message: String,
}

impl Error {
    fn new(span: Span, message: impl Into<String>) -> Error {
        Error {
            span,
            message: message.into(),
        }
    }

    /// `::core::compile_error! { "message" }`, every token at `self.span`.
    fn into_tokens(self) -> TokenStream {
        let span = self.span;
        let mut tokens = path(&["core", "compile_error"], span);
        tokens.push(punct('!', Spacing::Alone, span));
        let mut message = Literal::string(&self.message);
        message.set_span(span);
        tokens.push(group(
            Delimiter::Brace,
            TokenTree::Literal(message).into(),
            span,
        ));
        tokens.into_iter().collect()
    }
}

/// Parses the options and the function, and builds the expansion plus one
/// `compile_error!` per misuse found.
fn expand(entry: Entry, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let options = parse_options(entry, args, &mut errors);
    let mut output = match Function::parse(entry, item.clone(), &mut errors) {
        Some(function) => function.expand(entry, &options),
        // Not a function at all: give the item back as it was.
        None => item,
    };
    output.extend(errors.into_iter().map(Error::into_tokens));
    output
}

/// Parses `name`, `name = value`, … separated by commas. Each misuse is
/// pushed onto `errors` and the option keeps its default.
fn parse_options(entry: Entry, args: TokenStream, errors: &mut Vec<Error>) -> Options {
    let mut options = Options {
        clock: Clock::Real,
        flavor: Flavor::CurrentThread,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut multi_thread = false;
    let mut worker_threads: Option<(Span, TokenTree)> = None;
    let mut virtual_time: Option<Span> = None;
    for option in split_on_commas(args) {
        let mut tokens = option.into_iter();
        let Some(first) = tokens.next() else {
            continue;
        };
        let TokenTree::Ident(key) = first else {
            errors.push(Error::new(
                first.span(),
                format!(
                    "expected an option name; {} takes {}",
                    entry.name(),
                    entry.options()
                ),
            ));
            continue;
        };
        let name = key.to_string();
        if seen.contains(&name) {
            errors.push(Error::new(key.span(), format!("`{name}` is given twice")));
            continue;
        }
        seen.push(name.clone());
        match (entry, name.as_str()) {
            (_, "flavor") => {
                let Some(value) = option_value(&key, tokens, "flavor = \"current_thread\"", errors)
                else {
                    continue;
                };
                match value.to_string().as_str() {
                    "\"current_thread\"" => {}
                    "\"multi_thread\"" => multi_thread = true,
                    _ => errors.push(Error::new(
                        value.span(),
                        "`flavor` is \"current_thread\" or \"multi_thread\"",
                    )),
                }
            }
            (_, "worker_threads") => {
                let Some(value) = option_value(&key, tokens, "worker_threads = 4", errors) else {
                    continue;
                };
                if positive_integer(&value) {
                    worker_threads = Some((key.span(), value));
                } else {
                    errors.push(Error::new(
                        value.span(),
                        "`worker_threads` takes a positive integer, like `worker_threads = 4`",
                    ));
                }
            }
            (Entry::Test, "virtual_time") => match tokens.next() {
                None => {
                    options.clock = Clock::Virtual;
                    virtual_time = Some(key.span());
                }
                Some(extra) => errors.push(Error::new(
                    extra.span(),
                    "`virtual_time` is a bare flag: write `#[corio::test(virtual_time)]`",
                )),
            },
            _ => errors.push(Error::new(
                key.span(),
                format!(
                    "unknown option `{name}`; {} takes {}",
                    entry.name(),
                    entry.options()
                ),
            )),
        }
    }
    match (multi_thread, worker_threads) {
        (true, workers) => {
            options.flavor = Flavor::MultiThread(workers.map(|(_, value)| value));
        }
        (false, Some((span, _))) => errors.push(Error::new(
            span,
            "`worker_threads` needs `flavor = \"multi_thread\"`",
        )),
        (false, None) => {}
    }
    if let (true, Some(span)) = (multi_thread, virtual_time) {
        errors.push(Error::new(
            span,
            "`virtual_time` needs the current-thread flavor: the multi-thread runtime \
             runs on the real clock",
        ));
        options.clock = Clock::Real;
    }
    options
}

/// The value of `key = value`: exactly one token after the `=`. A missing
/// `=`, a missing value or a token after the value is pushed onto `errors`.
fn option_value(
    key: &Ident,
    mut tokens: impl Iterator<Item = TokenTree>,
    example: &str,
    errors: &mut Vec<Error>,
) -> Option<TokenTree> {
    let equals = match tokens.next() {
        Some(TokenTree::Punct(equals)) if equals.as_char() == '=' => equals,
        Some(other) => {
            errors.push(Error::new(
                other.span(),
                format!("expected `=`, as in `{example}`"),
            ));
            return None;
        }
        None => {
            errors.push(Error::new(
                key.span(),
                format!("`{key}` takes a value, as in `{example}`"),
            ));
            return None;
        }
    };
    let Some(value) = tokens.next().map(unwrap_invisible_group) else {
        errors.push(Error::new(
            equals.span(),
            format!("expected a value after `=`, as in `{example}`"),
        ));
        return None;
    };
    if let Some(extra) = tokens.next() {
        errors.push(Error::new(
            extra.span(),
            format!("unexpected token after the value; write `{example}`"),
        ));
        return None;
    }
    Some(value)
}

/// A literal that a `macro_rules!` macro passed on arrives wrapped in an
/// invisible group; this takes it out.
fn unwrap_invisible_group(token: TokenTree) -> TokenTree {
    if let TokenTree::Group(inner) = &token {
        if inner.delimiter() == Delimiter::None {
            let mut tokens = inner.stream().into_iter();
            if let (Some(only), None) = (tokens.next(), tokens.next()) {
                return only;
            }
        }
    }
    token
}

/// Whether `token` is an integer literal greater than zero (`4`, `4_usize`).
fn positive_integer(token: &TokenTree) -> bool {
    let TokenTree::Literal(literal) = token else {
        return false;
    };
    let text = literal.to_string().replace('_', "");
    let digits = text.strip_suffix("usize").unwrap_or(&text);
    matches!(digits.parse::<usize>(), Ok(count) if count > 0)
}

/// Splits a token stream at its top-level commas.
fn split_on_commas(stream: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut parts = vec![Vec::new()];
    for token in stream {
        match &token {
            TokenTree::Punct(comma) if comma.as_char() == ',' => parts.push(Vec::new()),
            _ => parts
                .last_mut()
                .expect("parts starts with one element")
                .push(token),
        }
    }
    parts
}

/// `[attributes] [vis] [qualifiers] async fn name[<generics>](args) [-> ret] [where ..] { body }`,
/// split just enough to rebuild it: every token but `async` and the body is
/// kept, in order, with its span.
struct Function {
    /// Every token before the body, without `async`.
    head: Vec<TokenTree>,
    body: Group,
}

impl Function {
    /// Splits `item`, pushing each misuse onto `errors`. Returns `None` when
    /// `item` is not a function with a body; a function that is not `async`
    /// or has arguments is still returned, so that it expands next to the
    /// error.
    fn parse(entry: Entry, item: TokenStream, errors: &mut Vec<Error>) -> Option<Function> {
        let mut head: Vec<TokenTree> = item.into_iter().collect();
        let body = match head.pop() {
            Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => body,
            _ => {
                errors.push(Error::new(
                    Span::call_site(),
                    format!(
                        "{} must be placed on an `async fn` with a body",
                        entry.name()
                    ),
                ));
                return None;
            }
        };
        let Some(fn_position) = head.iter().position(|token| is_ident(token, "fn")) else {
            errors.push(Error::new(
                Span::call_site(),
                format!("{} must be placed on an `async fn`", entry.name()),
            ));
            return None;
        };
        match head[..fn_position]
            .iter()
            .position(|token| is_ident(token, "async"))
        {
            Some(async_position) => {
                head.remove(async_position);
            }
            None => errors.push(Error::new(
                head[fn_position].span(),
                format!(
                    "the `async` keyword is missing: {} runs an `async fn`",
                    entry.name()
                ),
            )),
        }
        if let Some(arguments) = arguments(&head) {
            if !arguments.stream().is_empty() {
                errors.push(Error::new(
                    arguments.span(),
                    format!("a {} function takes no arguments", entry.name()),
                ));
            }
        }
        Some(Function { head, body })
    }

    /// `head { ::corio::run(async move BODY) }` for a current-thread `main`;
    /// `[#[test]] head { let runtime = ..; runtime.block_on(async move BODY) }`
    /// for a test or a multi-thread `main`. The new outer braces carry the body's span. The call that
    /// gives the function its value is located at the body's tail, so that a
    /// mismatched return type is reported there; the runtime's construction
    /// keeps the attribute's span.
    fn expand(self, entry: Entry, options: &Options) -> TokenStream {
        let span = Span::call_site();
        let tail = Span::call_site().located_at(tail_span(&self.body));
        let body_span = self.body.span();
        let future: TokenStream = [ident("async", tail), ident("move", tail)]
            .into_iter()
            .chain([TokenTree::Group(self.body)])
            .collect();
        let mut output: Vec<TokenTree> = Vec::new();
        let mut block: Vec<TokenTree> = Vec::new();
        let on_run = matches!(
            (entry, &options.flavor),
            (Entry::Main, Flavor::CurrentThread)
        );
        if on_run {
            block.extend(path(&["corio", "run"], tail));
        } else {
            if let Entry::Test = entry {
                output.extend(test_attribute(span));
            }
            // `runtime` is a local of the expansion: mixed-site hygiene
            // keeps it apart from any `runtime` in the body.
            let local = Span::mixed_site();
            block.push(ident("let", span));
            block.push(ident("runtime", local));
            block.push(punct('=', Spacing::Alone, span));
            block.extend(runtime(entry, options, span));
            block.push(punct(';', Spacing::Alone, span));
            block.push(ident("runtime", local.located_at(tail)));
            block.push(punct('.', Spacing::Alone, tail));
            block.push(ident("block_on", tail));
        }
        block.push(group(Delimiter::Parenthesis, future, tail));
        output.extend(self.head);
        output.push(group(
            Delimiter::Brace,
            block.into_iter().collect(),
            body_span,
        ));
        output.into_iter().collect()
    }
}

/// Where the body's value comes from: the first token after its last
/// top-level `;`, or its closing brace when it ends with a `;` or is empty.
fn tail_span(body: &Group) -> Span {
    let mut tail = None;
    for token in body.stream() {
        match &token {
            TokenTree::Punct(semicolon) if semicolon.as_char() == ';' => tail = None,
            _ => {
                tail.get_or_insert(token.span());
            }
        }
    }
    tail.unwrap_or_else(|| body.span_close())
}

/// `::corio::Runtime::builder().current_thread()[.virtual_time(true)]
/// .build().expect("..")`, or `.multi_thread()[.worker_threads(N)]` in place
/// of `.current_thread()`.
fn runtime(entry: Entry, options: &Options, span: Span) -> Vec<TokenTree> {
    let mut tokens = path(&["corio", "Runtime", "builder"], span);
    tokens.push(group(Delimiter::Parenthesis, TokenStream::new(), span));
    let mut method = |name: &str, argument: Option<TokenTree>| {
        tokens.push(punct('.', Spacing::Alone, span));
        tokens.push(ident(name, span));
        tokens.push(group(
            Delimiter::Parenthesis,
            argument.into_iter().collect(),
            span,
        ));
    };
    match &options.flavor {
        Flavor::CurrentThread => method("current_thread", None),
        Flavor::MultiThread(workers) => {
            method("multi_thread", None);
            if let Some(workers) = workers {
                method("worker_threads", Some(workers.clone()));
            }
        }
    }
    if options.clock == Clock::Virtual {
        method("virtual_time", Some(ident("true", span)));
    }
    method("build", None);
    let mut message = Literal::string(match entry {
        Entry::Main => "corio::main cannot create its runtime",
        Entry::Test => "corio::test cannot create its runtime",
    });
    message.set_span(span);
    method("expect", Some(TokenTree::Literal(message)));
    tokens
}

/// `#[::core::prelude::v1::test]`.
fn test_attribute(span: Span) -> Vec<TokenTree> {
    vec![
        punct('#', Spacing::Alone, span),
        group(
            Delimiter::Bracket,
            path(&["core", "prelude", "v1", "test"], span)
                .into_iter()
                .collect(),
            span,
        ),
    ]
}

/// The parenthesised argument list after `fn name` and its generics.
fn arguments(head: &[TokenTree]) -> Option<&Group> {
    let fn_position = head.iter().position(|token| is_ident(token, "fn"))?;
    // Skip the name, then the generics: their `<` and `>` are not a group,
    // and a bound like `F: Fn(u8) -> u8` holds a parenthesised group and the
    // `>` of an arrow.
    let mut depth = 0usize;
    let mut previous_was_minus = false;
    for token in head.get(fn_position + 2..)? {
        match token {
            TokenTree::Punct(punct) => {
                match punct.as_char() {
                    '<' => depth += 1,
                    '>' if !previous_was_minus => depth = depth.saturating_sub(1),
                    _ => {}
                }
                previous_was_minus = punct.as_char() == '-';
            }
            TokenTree::Group(group)
                if depth == 0 && group.delimiter() == Delimiter::Parenthesis =>
            {
                return Some(group);
            }
            _ => previous_was_minus = false,
        }
    }
    None
}

fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(ident) if ident.to_string() == name)
}

fn ident(name: &str, span: Span) -> TokenTree {
    TokenTree::Ident(Ident::new(name, span))
}

fn punct(ch: char, spacing: Spacing, span: Span) -> TokenTree {
    let mut punct = Punct::new(ch, spacing);
    punct.set_span(span);
    TokenTree::Punct(punct)
}

fn group(delimiter: Delimiter, stream: TokenStream, span: Span) -> TokenTree {
    let mut group = Group::new(delimiter, stream);
    group.set_span(span);
    TokenTree::Group(group)
}

/// `::a::b::c`.
fn path(segments: &[&str], span: Span) -> Vec<TokenTree> {
    let mut tokens = Vec::new();
    for segment in segments {
        tokens.push(punct(':', Spacing::Joint, span));
        tokens.push(punct(':', Spacing::Alone, span));
        tokens.push(ident(segment, span));
    }
    tokens
}
