//! `#[derive(FieldNames)]` and `fnv1a!("...")`, on the bare `proc_macro`
//! API so the workspace needs no crates.io dependency. This crate is built
//! for the host even when the workspace is cross-compiled.

use proc_macro::{Delimiter, TokenStream, TokenTree};

fn error(msg: &str) -> TokenStream {
    format!("compile_error!({msg:?});").parse().unwrap()
}

/// Adds `pub const FIELD_NAMES: &[&str]` to a struct with named fields
/// (no generics).
#[proc_macro_derive(FieldNames)]
pub fn derive_field_names(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let mut name = None;
    let mut fields = Vec::new();
    while let Some(tt) = tokens.next() {
        match tt {
            TokenTree::Ident(i) if i.to_string() == "struct" => match tokens.next() {
                Some(TokenTree::Ident(n)) => name = Some(n.to_string()),
                _ => return error("FieldNames: expected a struct name"),
            },
            TokenTree::Punct(p) if p.as_char() == '<' && name.is_some() => {
                return error("FieldNames: generic structs are not supported");
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace && name.is_some() => {
                // [#[attr]] [pub[(..)]] name : Type ,
                let mut last_ident: Option<String> = None;
                let mut in_name = true;
                let mut angle = 0i32;
                for t in g.stream() {
                    match t {
                        TokenTree::Punct(p) => match p.as_char() {
                            ':' if in_name => {
                                fields.extend(last_ident.take());
                                in_name = false;
                            }
                            '<' => angle += 1,
                            '>' => angle -= 1,
                            ',' if angle == 0 => in_name = true,
                            _ => {}
                        },
                        TokenTree::Ident(i) if in_name => last_ident = Some(i.to_string()),
                        _ => {}
                    }
                }
                break;
            }
            _ => {}
        }
    }
    let Some(name) = name else {
        return error("FieldNames: only structs with named fields are supported");
    };
    let list: Vec<String> = fields.iter().map(|f| format!("{f:?}")).collect();
    format!(
        "impl {name} {{ pub const FIELD_NAMES: &'static [&'static str] = &[{}]; }}",
        list.join(", ")
    )
    .parse()
    .unwrap()
}

/// FNV-1a (64-bit) of a plain string literal, as a `u64` literal.
#[proc_macro]
pub fn fnv1a(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let (Some(TokenTree::Literal(lit)), None) = (tokens.next(), tokens.next()) else {
        return error("fnv1a!: expected one string literal");
    };
    let text = lit.to_string();
    let Some(body) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return error("fnv1a!: expected a plain string literal");
    };
    if body.contains('\\') {
        return error("fnv1a!: escapes are not supported");
    }
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:#x}u64").parse().unwrap()
}
