//! Test-only resource types with the same specs as the real `random_secret` and `local_file`
//! providers, served by a provider that is never called (validation makes no provider call).
//! Shared by unit and integration tests (`#[path]`-included).

use std::sync::Arc;

use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, Provider, ProviderError, Providers, ResourceType, Value,
    ValueType,
};

pub struct TestTypes;

fn unused() -> ProviderError {
    ProviderError::Unsupported {
        message: "test types only describe schemas".into(),
    }
}

#[async_trait::async_trait]
impl Provider for TestTypes {
    fn resource_types(&self) -> Vec<ResourceType> {
        vec![
            ResourceType::new(
                "random_secret",
                "a random secret generated once at create",
                vec![
                    AttributeSpec::optional("bytes", ValueType::Integer, Some(Value::int(32))),
                    AttributeSpec::optional("encoding", ValueType::String, Some(Value::str("hex"))),
                    AttributeSpec::computed("value", ValueType::String).sensitive(),
                ],
            ),
            ResourceType::new(
                "given_secret",
                "a secret the admin supplies from an environment variable or a file",
                vec![
                    AttributeSpec::optional("from_env", ValueType::String, None),
                    AttributeSpec::optional("from_file", ValueType::String, None),
                    AttributeSpec::computed("value", ValueType::String).sensitive(),
                ],
            ),
            ResourceType::new(
                "local_file",
                "a file on the local disk",
                vec![
                    AttributeSpec::required("path", ValueType::String).force_new(),
                    AttributeSpec::required("content", ValueType::String),
                    AttributeSpec::optional("mode", ValueType::String, Some(Value::str("0644"))),
                    AttributeSpec::computed("sha256", ValueType::String),
                ],
            ),
        ]
    }

    async fn read(
        &self,
        _: &OpContext,
        _: &str,
        requests: &[ReadRequest],
    ) -> Vec<Result<Option<Observed>, ProviderError>> {
        requests.iter().map(|_| Err(unused())).collect()
    }

    async fn create(&self, _: &OpContext, _: &CreateRequest) -> Result<Observed, ProviderError> {
        Err(unused())
    }

    async fn update(&self, _: &OpContext, _: &UpdateRequest) -> Result<Observed, ProviderError> {
        Err(unused())
    }

    async fn delete(&self, _: &OpContext, _: &DeleteRequest) -> Result<(), ProviderError> {
        Err(unused())
    }

    async fn find_created(
        &self,
        _: &OpContext,
        _: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        Err(unused())
    }
}

/// `random_secret` and `local_file`.
pub fn providers() -> Providers {
    let mut p = Providers::new();
    p.register(Arc::new(TestTypes));
    p
}
