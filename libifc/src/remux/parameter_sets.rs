//! [`ParameterSetMemory`]: the latest VPS/SPS/PPS of each id seen in a stream, and whether
//! they differ from the ones the last decoder configuration was built from. Raw Annex B and
//! live (RTP) sources both declare a new configuration at a random-access point whose
//! parameter sets changed (a resolution change, a camera's new settings).

use bytes::Bytes;

use crate::codec::parameter_set_id::{parameter_set_key, NalKindKey};
use crate::codec::{Codec, DecoderConfig};
use crate::error::Result;

pub(crate) struct ParameterSetMemory {
    codec: Codec,
    /// The latest parameter set of each (type, id), in order of first arrival.
    latest: Vec<((NalKindKey, u32), Bytes)>,
    /// The parameter sets of the configuration declared last.
    declared: Vec<Bytes>,
}

impl ParameterSetMemory {
    pub(crate) fn new(codec: Codec) -> Self {
        Self { codec, latest: Vec::new(), declared: Vec::new() }
    }

    /// Keeps `nal` when it is a parameter set (replacing the one with its type and id);
    /// ignores other NAL units and parameter sets too short to carry an id.
    pub(crate) fn remember(&mut self, nal: &Bytes) {
        let Ok(Some(key)) = parameter_set_key(self.codec, nal) else { return };
        match self.latest.iter_mut().find(|(k, _)| *k == key) {
            Some((_, set)) => *set = nal.clone(),
            None => self.latest.push((key, nal.clone())),
        }
    }

    /// The sets differ from those of the last declared configuration (or none was declared).
    pub(crate) fn changed(&self) -> bool {
        !self.latest.iter().map(|(_, b)| b).eq(self.declared.iter())
    }

    /// A configuration from the latest sets, remembered as declared.
    pub(crate) fn declare(&mut self) -> Result<DecoderConfig> {
        let sets: Vec<&[u8]> = self.latest.iter().map(|(_, b)| &b[..]).collect();
        let config = DecoderConfig::from_parameter_sets(self.codec, &sets)?;
        self.declared = self.latest.iter().map(|(_, b)| b.clone()).collect();
        Ok(config)
    }
}
