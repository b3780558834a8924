//! What the local types (`random_secret`, `given_secret`, `local_file`) share: each is one
//! [`LocalType`] served as a provider of its own by [`Local`], which refuses a request of
//! another type (an engine bug) alike for all three, reads one request at a time, and answers
//! import and recovery the same way for every type that exists nowhere but in hdh's state.

use async_trait::async_trait;
use hdh_engine::provider::{
    read_given_id, Candidate, CreateRequest, DeleteRequest, Finding, ImportRequest, ReadRequest,
    UpdateRequest,
};
use hdh_engine::{Observed, OpContext, Provider, ProviderError, ResourceType, ValueMap};

use crate::declared;
use crate::props::{self, Check};
use crate::{Answer, Found};

/// The local types' declarations (see [`crate::declared`]).
const DECLARATIONS: &str = include_str!("../types/local.yaml");

/// One local type: its declaration and its calls, none of which waits on anything.
pub trait LocalType: Send + Sync {
    /// The type name it serves.
    const TYPE: &'static str;

    /// Whether what it manages can exist outside hdh, for `hdh import` to read by a given id
    /// (a file can; a generated secret, or one read from its source, cannot). Default: no.
    const IMPORTABLE: bool = false;

    /// The plan-time checks of single inputs, by attribute. Default: none.
    const CHECKS: &'static [(&'static str, Check)] = &[];

    /// Its declaration, from `types/local.yaml`.
    fn schema() -> ResourceType {
        let mut declared = declared::built_in("types/local.yaml", DECLARATIONS, &[]);
        let Some(at) = declared.iter().position(|t| t.name == Self::TYPE) else {
            panic!("types/local.yaml does not declare {}", Self::TYPE);
        };
        declared.swap_remove(at)
    }

    /// What exists now for one recorded resource; `None` when nothing does.
    fn read(&self, r: &ReadRequest) -> Found;

    fn create(&self, req: &CreateRequest) -> Answer<Observed>;

    fn update(&self, req: &UpdateRequest) -> Answer<Observed>;

    /// Default: nothing outside state to remove; state forgets it.
    fn delete(&self, _req: &DeleteRequest) -> Answer<()> {
        Ok(())
    }

    /// What an interrupted create left. Default: nothing; creating again is harmless.
    fn find_created(&self, _req: &CreateRequest) -> Found {
        Ok(None)
    }

    /// Plan-time findings for resources of this type. Default: [`LocalType::CHECKS`] on each.
    fn preflight(&self, resources: &[(String, String, ValueMap)]) -> Vec<Finding> {
        props::preflight_checks(resources, Self::TYPE, Self::CHECKS)
    }
}

/// Serves one [`LocalType`] as a provider.
#[derive(Debug, Default, Clone)]
pub struct Local<T>(pub(crate) T);

impl<T: LocalType> Local<T> {
    /// `Unsupported` for a request of a type this provider does not serve.
    fn serves(type_name: &str) -> Answer<()> {
        if type_name == T::TYPE {
            Ok(())
        } else {
            Err(props::unsupported_type(type_name))
        }
    }
}

#[async_trait]
impl<T: LocalType> Provider for Local<T> {
    fn resource_types(&self) -> Vec<ResourceType> {
        vec![T::schema()]
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        type_name: &str,
        requests: &[ReadRequest],
    ) -> Vec<Found> {
        requests
            .iter()
            .map(|r| {
                Self::serves(type_name)?;
                self.0.read(r)
            })
            .collect()
    }

    async fn create(&self, _ctx: &OpContext, req: &CreateRequest) -> Answer<Observed> {
        Self::serves(&req.type_name)?;
        self.0.create(req)
    }

    async fn update(&self, _ctx: &OpContext, req: &UpdateRequest) -> Answer<Observed> {
        Self::serves(&req.type_name)?;
        self.0.update(req)
    }

    async fn delete(&self, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        self.0.delete(req)
    }

    /// A type that exists only through hdh has nothing to import: import leaves it for apply,
    /// and an id given is refused. Another is read by the id given.
    async fn find_existing(&self, ctx: &OpContext, req: &ImportRequest) -> Answer<Vec<Candidate>> {
        match (&req.id, T::IMPORTABLE) {
            (Some(id), true) => read_given_id(self, ctx, req, id).await,
            (None, true) => Err(ProviderError::Unsupported {
                message: format!(
                    "{} cannot be searched for by name or tags; give its id (--id {}=ID)",
                    req.type_name, req.address
                ),
            }),
            (Some(_), false) => Err(ProviderError::Unsupported {
                message: format!("{} has no id outside hdh to import", req.type_name),
            }),
            (None, false) => Ok(Vec::new()),
        }
    }

    async fn find_created(&self, _ctx: &OpContext, req: &CreateRequest) -> Found {
        self.0.find_created(req)
    }

    async fn preflight(
        &self,
        _ctx: &OpContext,
        resources: &[(String, String, ValueMap)],
    ) -> Vec<Finding> {
        self.0.preflight(resources)
    }
}
