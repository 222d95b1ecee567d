//! Finding the line and column of a manifest element by its path (`auth.headers.authorization`),
//! for problems found after parsing: a template naming an unknown setting is valid YAML, so
//! only the document's own positions can say where it is.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// One step of an element's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// The value of a map key.
    Key(String),
    /// The key itself (for problems with a name, such as an unknown resource).
    Name(String),
    /// A sequence element.
    Index(usize),
}

/// Where an element is, from the document's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct At(pub Vec<Step>);

impl At {
    pub fn key(&self, key: &str) -> Self {
        self.with(Step::Key(key.to_owned()))
    }

    pub fn name(&self, key: &str) -> Self {
        self.with(Step::Name(key.to_owned()))
    }

    pub fn index(&self, i: usize) -> Self {
        self.with(Step::Index(i))
    }

    fn with(&self, step: Step) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        Self(steps)
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) | Step::Name(k) if i == 0 => write!(f, "{k}")?,
                Step::Key(k) | Step::Name(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A YAML document reduced to its shape and positions.
#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

/// The positions of a document's elements.
pub(super) struct Positions(Option<Spanned<Node>>);

impl Positions {
    /// Reads the positions of `text`; a document that does not parse has none (its parse error
    /// is reported on its own).
    pub fn of(text: &str) -> Self {
        Self(serde_saphyr::from_str(text).ok())
    }

    /// The position of the element at `at`, or of the nearest enclosing one that exists.
    pub fn find(&self, at: &At) -> Option<Location> {
        let mut node = self.0.as_ref()?;
        let mut found = node.referenced;
        for step in &at.0 {
            let next = match (&node.value, step) {
                (Node::Map(entries), Step::Key(k)) => entries
                    .iter()
                    .find(|(name, _)| name.value == *k)
                    .map(|(_, v)| (v, v.referenced)),
                (Node::Map(entries), Step::Name(k)) => {
                    return Some(
                        entries
                            .iter()
                            .find(|(name, _)| name.value == *k)
                            .map_or(found, |(name, _)| name.referenced),
                    );
                }
                (Node::Seq(items), Step::Index(i)) => items.get(*i).map(|v| (v, v.referenced)),
                _ => None,
            };
            let Some((child, location)) = next else { break };
            node = child;
            found = location;
        }
        Some(found)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }

            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}
