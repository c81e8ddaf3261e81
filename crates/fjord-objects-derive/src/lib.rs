//! `#[derive(VersionedObject)]` for fjord-objects: declares an
//! oslo.versionedobjects class as a Rust struct.
//!
//! ```ignore
//! #[derive(Debug, Clone, VersionedObject)]
//! #[object(name = "Flavor", version = "1.2",
//!          serial_namespace = "nova_object", project_namespace = "nova",
//!          remotable(get_by_id = "cls, context, id"))]
//! pub struct Flavor {
//!     #[field(Integer)] pub id: Slot<i64>,
//!     #[field(String, nullable, since = "1.2")] pub description: Slot<String>,
//!     #[field(Dict(String))] pub extra_specs: Slot<IndexMap<String, String>>,
//!     #[field(Boolean, default = false)] pub deleted: Slot<bool>,
//!     meta: ObjectMeta,
//! }
//! ```
//!
//! The struct has one `Slot<T>` per field and one `ObjectMeta`. Struct
//! attributes: `name`, `version`, `serial_namespace` (default
//! `versioned_object`), `project_namespace` (default `versionedobjects`),
//! `list` (an `ObjectListBase`), `relationships(field = [("1.2", "1.0")])`,
//! `child_versions = [("1.0", "1.0")]`, `remotable(method = "cls, context,
//! ...")`, `make_compatible = path::to::fn`. Field attributes: the type
//! (`String`, `Integer`, `DateTime(tzinfo_aware = false)`, `Enum("a",
//! "b")`, `Enum(("a", "b"))` for a tuple, `List(T)`, `Dict(T)`, `Set(T)`,
//! `Nullable(T)` for nullable elements, `Object(RustType)`), `nullable`,
//! `default = <literal>`, `since = "1.1"`, `read_only`.
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Expr, Fields, Lit, Token};

/// Implements `Object`, `VersionedObject`, `FieldData` and `Default` for a
/// struct of `Slot` fields and one `ObjectMeta`, plus a checked setter
/// `set_<field>` per field.
#[proc_macro_derive(VersionedObject, attributes(object, field))]
pub fn derive_versioned_object(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn lit_str(e: &Expr) -> syn::Result<String> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Ok(s.value()),
            _ => Err(Error::new(e.span(), "expected a string literal")),
        },
        _ => Err(Error::new(e.span(), "expected a string literal")),
    }
}

fn ident_of(e: &Expr) -> syn::Result<String> {
    match e {
        Expr::Path(p) => p
            .path
            .get_ident()
            .map(|i| i.to_string())
            .ok_or_else(|| Error::new(e.span(), "expected a name")),
        _ => Err(Error::new(e.span(), "expected a name")),
    }
}

fn pairs(e: &Expr) -> syn::Result<Vec<(String, String)>> {
    let Expr::Array(a) = e else {
        return Err(Error::new(e.span(), "expected [(\"x.y\", \"x.y\"), ...]"));
    };
    let mut out = Vec::new();
    for el in &a.elems {
        let Expr::Tuple(t) = el else {
            return Err(Error::new(el.span(), "expected (\"x.y\", \"x.y\")"));
        };
        if t.elems.len() != 2 {
            return Err(Error::new(t.span(), "expected a pair"));
        }
        out.push((lit_str(&t.elems[0])?, lit_str(&t.elems[1])?));
    }
    Ok(out)
}

fn args(attr: &syn::Attribute) -> syn::Result<Punctuated<Expr, Token![,]>> {
    attr.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)
}

/// The FieldType expression for a type description.
fn field_type(e: &Expr) -> syn::Result<TokenStream2> {
    let k = quote!(::fjord_objects::FieldType);
    match e {
        Expr::Path(_) => {
            let name = ident_of(e)?;
            let v = match name.as_str() {
                "String" => quote!(#k::String),
                "SensitiveString" => quote!(#k::SensitiveString),
                "VersionPredicate" => quote!(#k::VersionPredicate),
                "UUID" | "Uuid" => quote!(#k::Uuid),
                "MACAddress" => quote!(#k::MacAddress),
                "PCIAddress" => quote!(#k::PciAddress),
                "Integer" => quote!(#k::Integer),
                "NonNegativeInteger" => quote!(#k::NonNegativeInteger),
                "Float" => quote!(#k::Float),
                "NonNegativeFloat" => quote!(#k::NonNegativeFloat),
                "Boolean" => quote!(#k::Boolean),
                "FlexibleBoolean" => quote!(#k::FlexibleBoolean),
                "DateTime" => quote!(#k::DateTime { tzinfo_aware: true }),
                "IPAddress" => quote!(#k::IpAddress),
                "IPV4Address" => quote!(#k::IpV4Address),
                "IPV6Address" => quote!(#k::IpV6Address),
                "IPV4AndV6Address" => quote!(#k::IpV4AndV6Address),
                "IPNetwork" => quote!(#k::IpNetwork),
                "IPV4Network" => quote!(#k::IpV4Network),
                "IPV6Network" => quote!(#k::IpV6Network),
                other => {
                    return Err(Error::new(e.span(), format!("unknown field type {other}")));
                }
            };
            Ok(v)
        }
        Expr::Call(c) => {
            let name = ident_of(&c.func)?;
            let a: Vec<&Expr> = c.args.iter().collect();
            match name.as_str() {
                "DateTime" => {
                    let mut aware = true;
                    for arg in &a {
                        if let Expr::Assign(asg) = arg
                            && ident_of(&asg.left)? == "tzinfo_aware"
                        {
                            aware = match &*asg.right {
                                Expr::Lit(l) => match &l.lit {
                                    Lit::Bool(b) => b.value,
                                    _ => return Err(Error::new(asg.span(), "expected a bool")),
                                },
                                _ => return Err(Error::new(asg.span(), "expected a bool")),
                            };
                        } else {
                            return Err(Error::new(arg.span(), "expected tzinfo_aware = bool"));
                        }
                    }
                    Ok(quote!(#k::DateTime { tzinfo_aware: #aware }))
                }
                "Enum" => {
                    let mut values = Vec::new();
                    let mut tuple = false;
                    let mut class = "Enum".to_string();
                    for arg in &a {
                        match arg {
                            Expr::Tuple(t) => {
                                tuple = true;
                                for el in &t.elems {
                                    values.push(lit_str(el)?);
                                }
                            }
                            Expr::Assign(asg) if ident_of(&asg.left)? == "class" => {
                                class = lit_str(&asg.right)?;
                            }
                            other => values.push(lit_str(other)?),
                        }
                    }
                    Ok(quote!(#k::Enum {
                        valid: ::fjord_objects::field::EnumValues {
                            values: vec![#(#values.to_string()),*],
                            tuple: #tuple,
                        },
                        class: #class,
                    }))
                }
                "List" | "Dict" | "Set" => {
                    if a.len() != 1 {
                        return Err(Error::new(c.span(), "expected one element type"));
                    }
                    let elem = element(a[0])?;
                    let variant = format_ident!("{}", name);
                    Ok(quote!(#k::#variant(::std::boxed::Box::new(#elem))))
                }
                "Object" => {
                    if a.len() != 1 {
                        return Err(Error::new(c.span(), "expected Object(RustType)"));
                    }
                    let ty = a[0];
                    Ok(quote!(#k::Object(::fjord_objects::field::ObjectRef {
                        name: <#ty as ::fjord_objects::VersionedObject>::OBJ_NAME,
                        schema: <#ty as ::fjord_objects::VersionedObject>::schema,
                    })))
                }
                other => Err(Error::new(c.span(), format!("unknown field type {other}"))),
            }
        }
        _ => Err(Error::new(e.span(), "expected a field type")),
    }
}

/// A container's element Field: `T` or `Nullable(T)`.
fn element(e: &Expr) -> syn::Result<TokenStream2> {
    if let Expr::Call(c) = e
        && ident_of(&c.func)? == "Nullable"
        && c.args.len() == 1
    {
        let ty = field_type(&c.args[0])?;
        return Ok(quote!(::fjord_objects::Field::new(#ty).nullable()));
    }
    let ty = field_type(e)?;
    Ok(quote!(::fjord_objects::Field::new(#ty)))
}

/// `T` of a `Slot<T>` field type.
fn slot_inner(ty: &syn::Type) -> syn::Result<syn::Type> {
    if let syn::Type::Path(p) = ty
        && let Some(seg) = p.path.segments.last()
        && seg.ident == "Slot"
        && let syn::PathArguments::AngleBracketed(a) = &seg.arguments
        && let Some(syn::GenericArgument::Type(t)) = a.args.first()
    {
        return Ok(t.clone());
    }
    Err(Error::new(ty.span(), "a declared field must be a Slot<T>"))
}

struct FieldDecl {
    ident: syn::Ident,
    name: String,
    ty: TokenStream2,
    nullable: bool,
    default: Option<Expr>,
    since: Option<String>,
    read_only: bool,
    inner: syn::Type,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let ident = &input.ident;
    let mut name = ident.to_string();
    let mut version: Option<String> = None;
    let mut serial = "versioned_object".to_string();
    let mut project = "versionedobjects".to_string();
    let mut is_list = false;
    let mut relationships: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut child_versions: Vec<(String, String)> = Vec::new();
    let mut remotable: Vec<(String, String)> = Vec::new();
    let mut hook: Option<Expr> = None;
    for attr in &input.attrs {
        if !attr.path().is_ident("object") {
            continue;
        }
        for e in args(attr)? {
            match &e {
                Expr::Assign(a) => {
                    let key = ident_of(&a.left)?;
                    match key.as_str() {
                        "name" => name = lit_str(&a.right)?,
                        "version" => version = Some(lit_str(&a.right)?),
                        "serial_namespace" => serial = lit_str(&a.right)?,
                        "project_namespace" => project = lit_str(&a.right)?,
                        "child_versions" => child_versions = pairs(&a.right)?,
                        "make_compatible" => hook = Some((*a.right).clone()),
                        other => {
                            return Err(Error::new(a.span(), format!("unknown key {other}")));
                        }
                    }
                }
                Expr::Path(_) if ident_of(&e)? == "list" => is_list = true,
                Expr::Call(c) => {
                    let key = ident_of(&c.func)?;
                    for arg in &c.args {
                        let Expr::Assign(a) = arg else {
                            return Err(Error::new(arg.span(), "expected name = value"));
                        };
                        let field = ident_of(&a.left)?;
                        match key.as_str() {
                            "relationships" => relationships.push((field, pairs(&a.right)?)),
                            "remotable" => remotable.push((field, lit_str(&a.right)?)),
                            other => {
                                return Err(Error::new(c.span(), format!("unknown key {other}")));
                            }
                        }
                    }
                }
                _ => return Err(Error::new(e.span(), "unexpected object attribute")),
            }
        }
    }
    let version = version.ok_or_else(|| {
        Error::new(
            Span::call_site(),
            "#[object(version = \"X.Y\")] is required",
        )
    })?;
    let Data::Struct(data) = &input.data else {
        return Err(Error::new(input.span(), "VersionedObject needs a struct"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(Error::new(
            input.span(),
            "VersionedObject needs named fields",
        ));
    };
    let mut decls = Vec::new();
    let mut meta: Option<syn::Ident> = None;
    for f in &named.named {
        let Some(fid) = f.ident.clone() else { continue };
        let Some(attr) = f.attrs.iter().find(|a| a.path().is_ident("field")) else {
            if let syn::Type::Path(p) = &f.ty
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "ObjectMeta")
            {
                meta = Some(fid);
                continue;
            }
            return Err(Error::new(
                f.span(),
                "every field needs #[field(...)] (or is the ObjectMeta)",
            ));
        };
        let a = args(attr)?;
        let mut it = a.iter();
        let ty_expr = it
            .next()
            .ok_or_else(|| Error::new(attr.span(), "expected the field type first"))?;
        let inner = slot_inner(&f.ty)?;
        let mut d = FieldDecl {
            inner,
            name: fid.to_string().trim_start_matches("r#").to_string(),
            ident: fid,
            ty: field_type(ty_expr)?,
            nullable: false,
            default: None,
            since: None,
            read_only: false,
        };
        for e in it {
            match e {
                Expr::Path(_) => match ident_of(e)?.as_str() {
                    "nullable" => d.nullable = true,
                    "read_only" => d.read_only = true,
                    other => return Err(Error::new(e.span(), format!("unknown flag {other}"))),
                },
                Expr::Assign(asg) => match ident_of(&asg.left)?.as_str() {
                    "default" => d.default = Some((*asg.right).clone()),
                    "since" => d.since = Some(lit_str(&asg.right)?),
                    "name" => d.name = lit_str(&asg.right)?,
                    other => return Err(Error::new(e.span(), format!("unknown key {other}"))),
                },
                _ => return Err(Error::new(e.span(), "unexpected field attribute")),
            }
        }
        decls.push(d);
    }
    let meta =
        meta.ok_or_else(|| Error::new(input.span(), "the struct needs an ObjectMeta field"))?;

    let name_lit = name.clone();
    let spec_exprs: Vec<TokenStream2> = decls
        .iter()
        .map(|d| {
            let name = &d.name;
            let ty = &d.ty;
            let nullable = d.nullable;
            let read_only = d.read_only;
            let since = match &d.since {
                Some(s) => quote!(::std::option::Option::Some(#s)),
                None => quote!(::std::option::Option::None),
            };
            let default = match &d.default {
                Some(e) => quote! {{
                    let ty: ::fjord_objects::FieldType = #ty;
                    let json = ::fjord_objects::__private::serde_json::json!(#e);
                    match ty.from_primitive(#name, &json) {
                        ::std::result::Result::Ok(v) => ::std::option::Option::Some(v),
                        ::std::result::Result::Err(e) => {
                            panic!("invalid default for field {} of {}: {}", #name, #name_lit, e)
                        }
                    }
                }},
                None => quote!(::std::option::Option::None),
            };
            quote! {
                ::fjord_objects::object::FieldSpec {
                    name: #name,
                    field: ::fjord_objects::Field {
                        ty: #ty,
                        nullable: #nullable,
                        default: #default,
                        read_only: #read_only,
                    },
                    since: #since,
                }
            }
        })
        .collect();
    let rel = relationships.iter().map(|(f, ps)| {
        let p = ps.iter().map(|(a, b)| quote!((#a, #b)));
        quote!((#f, vec![#(#p),*]))
    });
    let cv = child_versions.iter().map(|(a, b)| quote!((#a, #b)));
    let rem = remotable.iter().map(|(m, s)| quote!((#m, #s)));
    let hook = match &hook {
        Some(h) => quote!(::std::option::Option::Some(#h)),
        None => quote!(::std::option::Option::None),
    };

    let idents: Vec<&syn::Ident> = decls.iter().map(|d| &d.ident).collect();
    let names: Vec<&String> = decls.iter().map(|d| &d.name).collect();
    let indexes: Vec<usize> = (0..decls.len()).collect();
    let nfields = decls.len();
    let setters = decls.iter().map(|d| {
        let fid = &d.ident;
        let fname = &d.name;
        let setter = format_ident!("set_{}", fid.to_string().trim_start_matches("r#"));
        let inner = &d.inner;
        let doc = format!("Assigns `{fname}` as Python's setter does (coerce, then mark changed).\n\n# Errors\n\nThe field's coercion refuses the value.");
        quote! {
            #[doc = #doc]
            pub fn #setter(&mut self, value: #inner) -> ::fjord_objects::Result<&mut Self> {
                let v = ::fjord_objects::FieldData::to_field_value(&value);
                ::fjord_objects::Object::obj_set(self, #fname, v)?;
                ::std::result::Result::Ok(self)
            }
        }
    });
    let list_init = if is_list {
        quote! { obj.objects = ::fjord_objects::Slot::Value(::std::vec::Vec::new()); }
    } else {
        quote! {}
    };

    Ok(quote! {
        impl ::std::default::Default for #ident {
            fn default() -> Self {
                #[allow(unused_mut)]
                let mut obj = #ident {
                    #( #idents: ::fjord_objects::Slot::Unset, )*
                    #meta: ::std::default::Default::default(),
                };
                #list_init
                obj
            }
        }


        impl #ident {
            #( #setters )*
        }

        // The readers' helpers, private to this class.
        const _: () = {
            use ::fjord_objects::__private::serde::de::{self as __de, MapAccess as _};
            use ::fjord_objects::__private::serde_json::{Map as __Map, Value as __Value};
            use ::fjord_objects::field::fast::{EnvKey as __EnvKey, WireStr as __WireStr};

            const __N: usize = #nfields;

            /// The index of the field named `k` (__N: no such field).
            fn __field_index(k: &str) -> usize {
                match k {
                    #( #names => #indexes, )*
                    _ => __N,
                }
            }

            /// A data key, read as [`__field_index`].
            struct __Key;
            impl<'de> __de::DeserializeSeed<'de> for __Key {
                type Value = usize;
                fn deserialize<D: __de::Deserializer<'de>>(self, d: D) -> ::std::result::Result<usize, D::Error> {
                    d.deserialize_str(self)
                }
            }
            impl<'de> __de::Visitor<'de> for __Key {
                type Value = usize;
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("a field name")
                }
                fn visit_str<E: __de::Error>(self, k: &str) -> ::std::result::Result<usize, E> {
                    ::std::result::Result::Ok(__field_index(k))
                }
            }

            /// The fast path of the data: every field present read with
            /// `FieldData::deserialize_fast`.
            struct __Data<'a>(&'a mut #ident);
            impl<'de, 'a> __de::DeserializeSeed<'de> for __Data<'a> {
                type Value = ();
                fn deserialize<D: __de::Deserializer<'de>>(self, d: D) -> ::std::result::Result<(), D::Error> {
                    d.deserialize_map(self)
                }
            }
            impl<'de, 'a> __de::Visitor<'de> for __Data<'a> {
                type Value = ();
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("an object's data")
                }
                fn visit_map<A: __de::MapAccess<'de>>(self, mut map: A) -> ::std::result::Result<(), A::Error> {
                    let schema = <#ident as ::fjord_objects::VersionedObject>::schema();
                    while let ::std::option::Option::Some(key) = map.next_key_seed(__Key)? {
                        match key {
                            #( #indexes => {
                                self.0.#idents = map.next_value_seed(::fjord_objects::field::fast::SlotSeed::new(&schema.fields[#indexes].field))?;
                            } )*
                            _ => {
                                map.next_value::<__de::IgnoredAny>()?;
                            }
                        }
                    }
                    ::std::result::Result::Ok(())
                }
            }

            /// The fast path of a whole primitive (JSON text).
            struct __Obj;
            impl<'de> __de::Visitor<'de> for __Obj {
                type Value = #ident;
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("an object primitive")
                }
                fn visit_map<A: __de::MapAccess<'de>>(self, mut map: A) -> ::std::result::Result<#ident, A::Error> {
                    let schema = <#ident as ::fjord_objects::VersionedObject>::schema();
                    let mut obj = <#ident as ::std::default::Default>::default();
                    let (mut name, mut namespace, mut version): (::std::option::Option<__WireStr<'de>>, ::std::option::Option<__WireStr<'de>>, ::std::option::Option<__WireStr<'de>>) = (None, None, None);
                    let mut changes = ::std::collections::BTreeSet::new();
                    let mut data = false;
                    while let ::std::option::Option::Some(key) = map.next_key_seed(::fjord_objects::field::fast::EnvKeySeed(schema.serial_namespace))? {
                        match key {
                            __EnvKey::Name => name = ::std::option::Option::Some(map.next_value()?),
                            __EnvKey::Namespace => namespace = ::std::option::Option::Some(map.next_value()?),
                            __EnvKey::Version => version = ::std::option::Option::Some(map.next_value()?),
                            __EnvKey::Changes => changes = map.next_value_seed(::fjord_objects::field::fast::ChangesSeed(schema))?,
                            __EnvKey::Data => {
                                if data {
                                    return ::std::result::Result::Err(::fjord_objects::field::fast::fallback());
                                }
                                map.next_value_seed(__Data(&mut obj))?;
                                data = true;
                            }
                            __EnvKey::Other => {
                                map.next_value::<__de::IgnoredAny>()?;
                            }
                        }
                    }
                    if !data || !::fjord_objects::object::fast_envelope_ok(schema, name.as_deref(), namespace.as_deref(), version.as_deref()) {
                        return ::std::result::Result::Err(::fjord_objects::field::fast::fallback());
                    }
                    if let ::std::option::Option::Some(v) = version && *v != *schema.version {
                        ::fjord_objects::Object::obj_meta_mut(&mut obj).set_version(::std::option::Option::Some(v.0.into_owned()));
                    }
                    ::fjord_objects::Object::obj_meta_mut(&mut obj).set_changes(changes);
                    ::std::result::Result::Ok(obj)
                }
            }

            /// The general path of the data: each field present, in
            /// declaration order, as `obj_from_primitive` reads it.
            fn __read_data(obj: &mut #ident, data: &__Map<::std::string::String, __Value>) -> ::fjord_objects::Result<()> {
                let schema = <#ident as ::fjord_objects::VersionedObject>::schema();
                #(
                    if let ::std::option::Option::Some(raw) = data.get(#names) {
                        obj.#idents = ::fjord_objects::Slot::from_primitive(raw, &schema.fields[#indexes].field, #names)?;
                    }
                )*
                ::std::result::Result::Ok(())
            }

            impl ::fjord_objects::VersionedObject for #ident {
                const OBJ_NAME: &'static str = #name;
                fn schema() -> &'static ::fjord_objects::Schema {
                    static SCHEMA: ::std::sync::OnceLock<::fjord_objects::Schema> = ::std::sync::OnceLock::new();
                    SCHEMA.get_or_init(|| ::fjord_objects::Schema {
                        name: #name,
                        version: #version,
                        serial_namespace: #serial,
                        project_namespace: #project,
                        fields: vec![#(#spec_exprs),*],
                        relationships: vec![#(#rel),*],
                        child_versions: vec![#(#cv),*],
                        is_list: #is_list,
                        remotable: vec![#(#rem),*],
                        make_compatible: #hook,
                        from_primitive: |v| {
                            let o = <#ident as ::fjord_objects::VersionedObject>::obj_from_primitive(v)?;
                            ::std::result::Result::Ok(::std::boxed::Box::new(o))
                        },
                        new_object: || ::std::boxed::Box::new(<#ident as ::std::default::Default>::default()),
                    })
                }
                fn obj_from_primitive(primitive: &__Value) -> ::fjord_objects::Result<Self> {
                    let mut obj = <#ident as ::std::default::Default>::default();
                    let env = ::fjord_objects::object::read_envelope(&mut obj, primitive)?;
                    // The data's fast path first; anything off it (a value
                    // to coerce, an error) is read again by the general path.
                    if __de::DeserializeSeed::deserialize(__Data(&mut obj), env.data).is_err() {
                        return <#ident as ::fjord_objects::VersionedObject>::obj_from_primitive_general(primitive);
                    }
                    ::fjord_objects::object::set_received_changes(&mut obj, &env);
                    ::std::result::Result::Ok(obj)
                }
                fn obj_from_primitive_general(primitive: &__Value) -> ::fjord_objects::Result<Self> {
                    let mut obj = <#ident as ::std::default::Default>::default();
                    let env = ::fjord_objects::object::read_envelope(&mut obj, primitive)?;
                    __read_data(&mut obj, env.data)?;
                    ::fjord_objects::object::set_received_changes(&mut obj, &env);
                    ::std::result::Result::Ok(obj)
                }
                fn obj_deserialize<'de, D: __de::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                    d.deserialize_map(__Obj)
                }
            }
        };

        impl ::fjord_objects::Object for #ident {
            fn obj_schema(&self) -> &'static ::fjord_objects::Schema {
                <#ident as ::fjord_objects::VersionedObject>::schema()
            }
            fn obj_meta(&self) -> &::fjord_objects::ObjectMeta {
                &self.#meta
            }
            fn obj_meta_mut(&mut self) -> &mut ::fjord_objects::ObjectMeta {
                &mut self.#meta
            }
            fn obj_get(&self, field: &str) -> ::fjord_objects::Result<::std::option::Option<::fjord_objects::FieldValue>> {
                match field {
                    #( #names => ::std::result::Result::Ok(self.#idents.to_field_value()), )*
                    other => ::std::result::Result::Err(::fjord_objects::object::no_such_field(#name, other)),
                }
            }
            fn obj_set(&mut self, field: &str, value: ::fjord_objects::FieldValue) -> ::fjord_objects::Result<()> {
                let schema = <#ident as ::fjord_objects::VersionedObject>::schema();
                let Some(spec) = schema.field(field) else {
                    return ::std::result::Result::Err(::fjord_objects::object::no_such_field(#name, field));
                };
                let v = spec.field.coerce(spec.name, value)?;
                if spec.field.read_only {
                    if let ::std::option::Option::Some(current) = ::fjord_objects::Object::obj_get(self, field)? {
                        if current != v {
                            return ::std::result::Result::Err(::fjord_objects::ObjectError::new(
                                ::fjord_objects::ErrorKind::ReadOnlyField,
                                ::std::format!("Cannot modify readonly field {}", spec.name),
                            ));
                        }
                        return ::std::result::Result::Ok(());
                    }
                }
                match field {
                    #( #names => self.#idents = ::fjord_objects::Slot::from_field_value(v)?, )*
                    _ => {}
                }
                self.#meta.mark(spec.name);
                ::std::result::Result::Ok(())
            }
            fn obj_data_primitive(&self) -> ::fjord_objects::__private::serde_json::Map<::std::string::String, ::fjord_objects::__private::serde_json::Value> {
                let mut m = ::fjord_objects::__private::serde_json::Map::new();
                #(
                    if let ::std::option::Option::Some(v) = self.#idents.to_primitive() {
                        m.insert(#names.to_string(), v);
                    }
                )*
                m
            }
            fn obj_write_data(&self, out: &mut ::std::string::String) {
                out.push('{');
                let mut first = true;
                #(
                    if self.#idents.is_set() {
                        if !first { out.push_str(", "); }
                        first = false;
                        out.push_str(concat!("\"", #names, "\": "));
                        self.#idents.write_json(out);
                    }
                )*
                let _ = first;
                out.push('}');
            }
            fn obj_changed_children(&self) -> ::std::vec::Vec<&'static str> {
                let mut v = ::std::vec::Vec::new();
                #(
                    if let ::std::option::Option::Some(o) = self.#idents.as_object() {
                        if !::fjord_objects::Object::obj_what_changed(o).is_empty() {
                            v.push(#names);
                        }
                    }
                )*
                v
            }
            fn obj_reset_children(&mut self) {
                #( self.#idents.reset_changes_recursive(); )*
            }
            fn clone_box(&self) -> ::std::boxed::Box<dyn ::fjord_objects::Object> {
                ::std::boxed::Box::new(::std::clone::Clone::clone(self))
            }
            fn as_any(&self) -> &dyn ::std::any::Any {
                self
            }
        }

        impl ::fjord_objects::FieldData for #ident {
            fn to_field_value(&self) -> ::fjord_objects::FieldValue {
                ::fjord_objects::FieldValue::Object(::std::boxed::Box::new(::std::clone::Clone::clone(self)))
            }
            fn from_field_value(value: ::fjord_objects::FieldValue) -> ::fjord_objects::Result<Self> {
                ::fjord_objects::object::downcast_object::<#ident>(value)
            }
            fn to_primitive(&self) -> ::fjord_objects::__private::serde_json::Value {
                ::fjord_objects::Object::obj_to_primitive(self)
            }
            fn write_json(&self, out: &mut ::std::string::String) {
                ::fjord_objects::Object::obj_write_json(self, out)
            }
            fn as_object(&self) -> ::std::option::Option<&dyn ::fjord_objects::Object> {
                ::std::option::Option::Some(self)
            }
            fn reset_changes_recursive(&mut self) {
                ::fjord_objects::Object::obj_reset_changes(self, ::std::option::Option::None, true)
            }
            fn deserialize_fast<'de, D: ::fjord_objects::__private::serde::Deserializer<'de>>(
                d: D,
                field: &::fjord_objects::Field,
            ) -> ::std::result::Result<Self, D::Error> {
                match &field.ty {
                    ::fjord_objects::FieldType::Object(r) if r.name == #name => {
                        <#ident as ::fjord_objects::VersionedObject>::obj_deserialize(d)
                    }
                    _ => ::std::result::Result::Err(::fjord_objects::field::fast::fallback()),
                }
            }
            fn from_primitive(
                value: &::fjord_objects::__private::serde_json::Value,
                field: &::fjord_objects::Field,
                attr: &str,
            ) -> ::fjord_objects::Result<Self> {
                match (&field.ty, value) {
                    (::fjord_objects::FieldType::Object(r), ::fjord_objects::__private::serde_json::Value::Object(_))
                        if r.name == #name =>
                    {
                        <#ident as ::fjord_objects::VersionedObject>::obj_from_primitive(value)
                    }
                    _ => <#ident as ::fjord_objects::FieldData>::from_field_value(field.from_primitive(attr, value)?),
                }
            }
        }
    })
}
