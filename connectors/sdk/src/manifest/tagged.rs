//! Deserializing the manifest's `type`-tagged forms without losing line and column.
//!
//! serde's own internally tagged enums buffer the whole map before choosing a variant, and the
//! buffer has no positions: an error inside (`unknown field`, a bad template) would point at the
//! start of the block. Here the variant is chosen as soon as `type` is read and the rest of the
//! map is deserialized straight from the YAML, so errors keep their exact position. Keys before
//! `type` are buffered; errors in them point at the block. Manifests therefore write `type`
//! first.

use std::collections::VecDeque;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess};
use serde_json::Value;

/// Reads the value of `type` and checks it names a variant, so that an unknown one is reported
/// at the value itself.
pub(super) struct TagSeed(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for TagSeed {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let tag = <String as serde::Deserialize>::deserialize(deserializer)?;
        self.0
            .iter()
            .find(|v| **v == tag)
            .copied()
            .ok_or_else(|| de::Error::unknown_variant(&tag, self.0))
    }
}

/// The rest of a tagged map after `type`: the keys read before it, then the live map.
pub(super) struct Rest<A> {
    buffered: VecDeque<(String, Value)>,
    pending: Option<Value>,
    live: A,
}

impl<A> Rest<A> {
    pub(super) fn new(buffered: VecDeque<(String, Value)>, live: A) -> Self {
        Self {
            buffered,
            pending: None,
            live,
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((key, value)) = self.buffered.pop_front() {
            self.pending = Some(value);
            return seed.deserialize(key.into_deserializer()).map(Some);
        }
        self.live.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.pending.take() {
            Some(value) => seed.deserialize(value).map_err(de::Error::custom),
            None => self.live.next_value_seed(seed),
        }
    }
}

/// What a tagged map is expected to be, for serde's messages.
pub(super) struct Expecting(pub &'static [&'static str]);

impl fmt::Display for Expecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a map whose `type` is one of: {}", self.0.join(", "))
    }
}

/// Declares an enum whose YAML form is a map with a `type` key naming the variant; each variant
/// wraps the struct holding the rest of the map. The schema is derived with the same tag names.
macro_rules! tagged {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($inner:ty), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, schemars::JsonSchema)]
        #[schemars(tag = "type")]
        pub enum $name {
            $( $(#[$vmeta])* #[schemars(rename = $tag)] $variant($inner), )+
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                const TAGS: &[&str] = &[$($tag),+];
                struct TaggedVisitor;
                impl<'de> serde::de::Visitor<'de> for TaggedVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        write!(f, "{}", $crate::manifest::tagged::Expecting(TAGS))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut buffered = std::collections::VecDeque::new();
                        loop {
                            let Some(key) = map.next_key::<String>()? else {
                                return Err(serde::de::Error::missing_field("type"));
                            };
                            if key != "type" {
                                buffered.push_back((key, map.next_value::<serde_json::Value>()?));
                                continue;
                            }
                            let tag = map.next_value_seed($crate::manifest::tagged::TagSeed(TAGS))?;
                            let rest = serde::de::value::MapAccessDeserializer::new(
                                $crate::manifest::tagged::Rest::new(buffered, map),
                            );
                            return match tag {
                                $( $tag => <$inner as serde::Deserialize>::deserialize(rest).map($name::$variant), )+
                                other => Err(serde::de::Error::unknown_variant(other, TAGS)),
                            };
                        }
                    }
                }
                deserializer.deserialize_map(TaggedVisitor)
            }
        }
    };
}

pub(super) use tagged;
