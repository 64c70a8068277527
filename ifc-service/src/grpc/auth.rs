//! `ifc.v1.Auth` and `ifc.v1.Users`: log in, refresh, who am I; users and API keys (admin).

use tonic::{Request, Response, Status};

use super::convert::{role, role_from};
use super::pb::{self, auth_server::Auth, users_server::Users};
use super::GrpcApi;
use crate::api::auth_routes::{log_in, refresh_tokens, who};
use crate::api::users::{keys, new_key, new_user, remove_user, revoke, users};
use crate::api::views::{
    ApiKeyView, LoginRequest, NewApiKeyRequest, NewUserRequest, RefreshRequest, TokenResponse, UserView,
};

fn tokens(t: TokenResponse) -> pb::TokenResponse {
    pb::TokenResponse {
        access_token: t.access_token,
        token_type: t.token_type,
        expires_in: t.expires_in,
        refresh_token: t.refresh_token,
    }
}

fn user(u: UserView) -> pb::User {
    pb::User { id: u.id, username: u.username, role: role(u.role), created_at_ms: u.created_at_ms }
}

fn key(k: ApiKeyView) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        role: role(k.role),
        created_at_ms: k.created_at_ms,
        revoked: k.revoked,
    }
}

#[tonic::async_trait]
impl Auth for GrpcApi {
    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::TokenResponse>, Status> {
        let pb::LoginRequest { username, password } = request.into_inner();
        Ok(Response::new(tokens(log_in(&self.state, LoginRequest { username, password }).await?)))
    }

    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Result<Response<pb::TokenResponse>, Status> {
        let refresh_token = request.into_inner().refresh_token;
        Ok(Response::new(tokens(refresh_tokens(&self.state, RefreshRequest { refresh_token }).await?)))
    }

    async fn me(&self, request: Request<pb::MeRequest>) -> Result<Response<pb::MeResponse>, Status> {
        let me = who(self.caller(request.metadata()).await?);
        Ok(Response::new(pb::MeResponse { subject: me.subject, role: role(me.role), credential: me.credential }))
    }
}

#[tonic::async_trait]
impl Users for GrpcApi {
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let users = users(&self.state, &caller).await?.into_iter().map(user).collect();
        Ok(Response::new(pb::ListUsersResponse { users }))
    }

    async fn create_user(&self, request: Request<pb::CreateUserRequest>) -> Result<Response<pb::User>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::CreateUserRequest { username, password, role } = request.into_inner();
        let req = NewUserRequest { username, password, role: role_from("role", role)? };
        Ok(Response::new(user(new_user(&self.state, &caller, req).await?)))
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        remove_user(&self.state, &caller, &request.into_inner().id).await?;
        Ok(Response::new(pb::DeleteUserResponse {}))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let keys = keys(&self.state, &caller).await?.into_iter().map(key).collect();
        Ok(Response::new(pb::ListApiKeysResponse { keys }))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::CreateApiKeyRequest { name, role } = request.into_inner();
        let created = new_key(&self.state, &caller, NewApiKeyRequest { name, role: role_from("role", role)? }).await?;
        Ok(Response::new(pb::CreateApiKeyResponse { key: Some(key(created.key)), secret: created.secret }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        revoke(&self.state, &caller, &request.into_inner().id).await?;
        Ok(Response::new(pb::RevokeApiKeyResponse {}))
    }
}
